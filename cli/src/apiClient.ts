// A small JSON client for the control-plane API: bearer auth, named errors.

import type { CliContext } from './context.js';
import { ApiError, CliError, ExitCode } from './errors.js';

export interface ApiClient {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

export function createApiClient(ctx: CliContext, fetchImpl: typeof fetch = fetch): ApiClient {
  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetchImpl(`${ctx.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${ctx.token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new CliError(
        'CONTROL_PLANE_UNREACHABLE',
        `cannot reach the control plane at ${ctx.url}: ${(err as Error).cause ? String((err as Error & { cause: unknown }).cause) : (err as Error).message}`,
        ctx.source === 'lab'
          ? 'is the lab running? try `orgplane lab status`, then `orgplane lab up`'
          : 'check ORGPLANE_URL and that the control plane is running',
        ExitCode.unreachable,
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    if (!res.ok) {
      const e = (json as { error?: { code?: string; message?: string; hint?: string; details?: unknown } } | undefined)?.error;
      throw new ApiError(
        res.status,
        e?.code ?? `HTTP_${res.status}`,
        e?.message ?? `${method} ${path} answered ${res.status}`,
        e?.hint ?? (res.status === 401 ? 'check ORGPLANE_TOKEN (or run `orgplane lab up` to refresh the lab context)' : undefined),
        e?.details,
      );
    }
    return json as T;
  }
  return {
    get(path, query) {
      const qs = new URLSearchParams();
      for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) qs.set(k, String(v));
      const suffix = qs.size ? `?${qs}` : '';
      return request('GET', `${path}${suffix}`);
    },
    send(method, path, body) {
      return request(method, path, body);
    },
  };
}
