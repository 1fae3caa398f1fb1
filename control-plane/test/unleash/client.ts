// The official unleash-client, pointed at a control plane listening on a real port.
import { once } from 'node:events';
import { InMemStorageProvider, Unleash, type UnleashConfig } from 'unleash-client';
import type { ControlPlane } from '../../src/app.js';

/** Listen on a free port of 127.0.0.1; returns the base URL. */
export async function listen(cp: ControlPlane): Promise<string> {
  return cp.app.listen({ port: 0, host: '127.0.0.1' });
}

/**
 * A started client that has fetched the features once. `token` goes in
 * `Authorization` as Unleash SDKs send it (no `Bearer`) unless the caller's headers say
 * otherwise. Rejects with the client's first error (a 401 or 403, say).
 */
export async function startUnleash(baseUrl: string, token: string, options: Partial<UnleashConfig> = {}): Promise<Unleash> {
  const client = new Unleash({
    appName: 'orgplane-test',
    url: `${baseUrl}/api/`,
    customHeaders: { Authorization: token },
    refreshInterval: 60_000,
    disableMetrics: true,
    storageProvider: new InMemStorageProvider(),
    skipInstanceCountWarning: true,
    ...options,
  });
  try {
    await synchronized(client);
  } catch (err) {
    client.destroy();
    throw err;
  }
  return client;
}

/**
 * Resolves once the client has its features; rejects with the client's first error, or
 * after `limitMs` (before the test's timeout, so the failure says what it waited for).
 */
export async function synchronized(client: Unleash, limitMs = 10_000): Promise<void> {
  if (client.isSynchronized()) return;
  try {
    // events.once rejects on an 'error' event too.
    await once(client, 'synchronized', { signal: AbortSignal.timeout(limitMs) });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw new Error(`the unleash client did not synchronize within ${limitMs} ms`);
    throw err;
  }
}
