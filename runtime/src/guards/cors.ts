// The CORS allow-list from the control plane's config. A listed origin gets its own origin
// echoed with credentials allowed; any other origin gets no CORS headers at all, and its
// preflight is refused (403). Every answer that depends on Origin says `Vary: Origin`, so
// a cache never serves one origin's answer to another.
import { canonicalOrigin } from '../wire.js';

export interface CorsOptions {
  origins: () => readonly string[];
  /** Methods a preflight may ask for (default GET, HEAD, POST, PUT, PATCH, DELETE). */
  methods?: readonly string[];
  /** Request headers a preflight may ask for (lowercase). */
  allowHeaders?: readonly string[];
  /** Response headers scripts may read. */
  exposeHeaders?: readonly string[];
  maxAgeSeconds?: number;
}

export type CorsDecision =
  | { kind: 'none'; headers: Record<string, string> }
  | { kind: 'allowed'; headers: Record<string, string> }
  | { kind: 'preflight'; status: 204 | 403; headers: Record<string, string> };

const DEFAULT_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
const DEFAULT_HEADERS = ['authorization', 'content-type', 'idempotency-key', 'if-none-match', 'x-org-id', 'x-user-id', 'last-event-id'];
const DEFAULT_EXPOSE = ['etag', 'retry-after', 'ratelimit', 'ratelimit-policy', 'idempotent-replayed', 'location'];

export class CorsGuard {
  private source: readonly string[] = [];
  private allowed = new Set<string>();
  private readonly methods: Set<string>;
  private readonly allowHeaders: Set<string>;
  private readonly expose: string;
  private readonly maxAge: string;

  constructor(private readonly options: CorsOptions) {
    this.methods = new Set(options.methods ?? DEFAULT_METHODS);
    this.allowHeaders = new Set(options.allowHeaders ?? DEFAULT_HEADERS);
    this.expose = (options.exposeHeaders ?? DEFAULT_EXPOSE).join(', ');
    this.maxAge = String(options.maxAgeSeconds ?? 600);
  }

  private isAllowed(origin: string): boolean {
    const origins = this.options.origins();
    if (origins !== this.source) {
      this.source = origins;
      this.allowed = new Set(origins);
    }
    const canonical = canonicalOrigin(origin);
    return canonical !== null && this.allowed.has(canonical);
  }

  decide(method: string, headers: Record<string, string | string[] | undefined>): CorsDecision {
    const origin = headers.origin;
    const isPreflight = method === 'OPTIONS' && headers['access-control-request-method'] !== undefined;
    if (typeof origin !== 'string') return { kind: 'none', headers: {} };
    const vary = { vary: 'Origin' };
    if (!this.isAllowed(origin)) return isPreflight ? { kind: 'preflight', status: 403, headers: vary } : { kind: 'none', headers: vary };
    const base = { ...vary, 'access-control-allow-origin': origin, 'access-control-allow-credentials': 'true' };
    if (!isPreflight) return { kind: 'allowed', headers: { ...base, 'access-control-expose-headers': this.expose } };
    const asked = String(headers['access-control-request-method']).toUpperCase();
    const askedHeaders = String(headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    if (!this.methods.has(asked) || askedHeaders.some((h) => !this.allowHeaders.has(h))) {
      return { kind: 'preflight', status: 403, headers: vary };
    }
    return {
      kind: 'preflight',
      status: 204,
      headers: {
        ...base,
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
        'access-control-allow-methods': [...this.methods].join(', '),
        'access-control-allow-headers': [...this.allowHeaders].join(', '),
        'access-control-max-age': this.maxAge,
      },
    };
  }
}
