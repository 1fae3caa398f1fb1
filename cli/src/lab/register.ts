// Telling a fresh control plane about the lab: its clusters (with replicas) and the
// shard map, through the public HTTP API like any operator would.
import type { OrgBlock } from './config.js';

export interface ClusterRegistration {
  id: string;
  primaryUrl: string;
  replicas: { id: string; url: string }[];
}

async function call(baseUrl: string, token: string, method: string, route: string, body: unknown): Promise<void> {
  const res = await fetch(`${baseUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...(body as object), reason: 'orgplane lab up' }),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    throw new Error(`${method} ${route} answered ${res.status}: ${text.slice(0, 500)}`);
  }
}

export async function registerFleet(baseUrl: string, token: string, clusters: ClusterRegistration[], blocks: OrgBlock[]): Promise<void> {
  for (const c of clusters) {
    await call(baseUrl, token, 'POST', '/v1/clusters', { id: c.id, primary: { url: c.primaryUrl }, replicas: c.replicas });
  }
  const ranges = blocks.map((b) => ({ lo: b.lo, hi: b.hi, clusterId: b.clusterId }));
  await call(baseUrl, token, 'PUT', '/v1/shard-map/ranges', { ranges });
}
