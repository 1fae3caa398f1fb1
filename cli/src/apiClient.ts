// A small JSON client for the control-plane API: bearer auth, named errors.

import type { CliContext } from './context.js';
import { ApiError, CliError, ExitCode } from './errors.js';
import { type HttpRequest, type HttpResponse, httpRequest } from './httpRequest.js';

export interface ApiClient {
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

/** The control plane's URL as errors show it: never a user or password written into it. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'ORGPLANE_URL';
  }
}

export function createApiClient(ctx: CliContext, send: HttpRequest = httpRequest): ApiClient {
  async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: HttpResponse;
    try {
      res = await send(`${ctx.url}${path}`, {
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
        `cannot reach the control plane at ${shownUrl(ctx.url)}: ${(err as Error).cause ? String((err as Error & { cause: unknown }).cause) : (err as Error).message}`,
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
      if (!e?.code) {
        throw new ApiError(
          res.status,
          `HTTP_${res.status}`,
          `${method} ${path} answered ${res.status} without an orgplane error`,
          `check that ${shownUrl(ctx.url)} is an orgplane control plane (ORGPLANE_URL)`,
        );
      }
      throw new ApiError(
        res.status,
        e.code,
        e.message ?? `${method} ${path} answered ${res.status}`,
        cliHint(e.code, e.hint, e.details),
        e.details,
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

/**
 * The control plane's hints speak HTTP (`GET /v1/clusters`); where a command does the same,
 * people at the CLI are told the command instead.
 */
export function cliHint(code: string, apiHint: string | undefined, details: unknown): string | undefined {
  const d = (details ?? {}) as Record<string, unknown>;
  switch (code) {
    case 'UNAUTHORIZED':
      return 'check ORGPLANE_TOKEN, or run `orgplane lab up` to refresh the lab context';
    case 'FORBIDDEN':
      return "this token's scope does not allow it: use a token with the needed scope in ORGPLANE_TOKEN (the lab's admin token is in `orgplane lab status --json`)";
    case 'CLUSTER_NOT_FOUND':
      return 'list the clusters with `orgplane clusters list`';
    case 'VERSION_CONFLICT':
      return typeof d['currentVersion'] === 'number'
        ? `someone else changed the map: check it with \`orgplane shards list\`, then retry with --expected-version ${d['currentVersion']}`
        : 'someone else changed the map: check it with `orgplane shards list`, then retry with its version';
    case 'ROLLOUT_NOT_FOUND':
      return 'list the rollouts with `orgplane rollouts list`, or create this one with `orgplane rollouts create`';
    case 'COHORT_NOT_FOUND':
      return 'list the cohorts with `orgplane cohorts list`, or select one with `orgplane pilot select`';
    case 'CLUSTER_UNREACHABLE': {
      const retry =
        typeof d['clusterId'] === 'string'
          ? `check that ${d['clusterId']}'s primary is up (\`orgplane clusters list\`), then retry`
          : "check that every cluster's primary is up (`orgplane clusters list`), then retry";
      // A shard-map change could not ask the cluster the orgs leave (details.to: where they go).
      return typeof d['to'] === 'string'
        ? `${retry}; if the rows are already on ${d['to']} (restored from a backup), add --data-on ${d['to']} --reason "..."`
        : retry;
    }
    case 'ORG_DATA_WOULD_BE_STRANDED': {
      const from = String(d['from'] ?? '<from>');
      const to = String(d['to'] ?? '<to>');
      const orgIds = Array.isArray(d['orgIds']) ? (d['orgIds'] as number[]) : [];
      const ranges = Array.isArray(d['ranges']) ? (d['ranges'] as { lo: number; hi: number }[]) : [];
      const move =
        orgIds.length > 0
          ? `orgplane orgs move ${orgIds.join(' ')} --to ${to} --follow`
          : ranges.length === 1
            ? `orgplane orgs move --from ${from} --to ${to} --range ${ranges[0]!.lo}-${ranges[0]!.hi} --percent 100 --follow`
            : `orgplane orgs move --from ${from} --to ${to} --range <lo>-<hi> --percent 100 --follow`;
      return `move the data first: \`${move}\`, then route the range; if the rows are already on ${to} (restored from a backup), add --data-on ${to} --reason "..." (runbooks/shard-map.md)`;
    }
    case 'CLUSTER_NOT_ACCEPTING_ORGS':
      return typeof d['clusterId'] === 'string'
        ? `${d['clusterId']} is ${String(d['state'] ?? 'not active')}: choose another cluster (\`orgplane clusters list\`); moves out of it still work`
        : apiHint;
    case 'DATA_ON_MISMATCH':
      return typeof d['to'] === 'string'
        ? `--data-on must name the cluster the orgs go to: --data-on ${d['to']}, or leave it out`
        : apiHint;
    case 'INVALID_ROLLOUT_STATE':
      return typeof d['flag'] === 'string'
        ? `${apiHint ? `${apiHint}; ` : ''}see where it stands with \`orgplane rollouts show ${d['flag']}\``
        : apiHint;
    case 'ORG_NOT_FOUND':
      return typeof d['orgId'] === 'number'
        ? `check the org id: \`orgplane orgs locate ${d['orgId']}\` says which cluster should hold it`
        : 'check the org id: `orgplane orgs locate <orgId>` says which cluster should hold it';
    case 'ALREADY_ON_CLUSTER':
      return typeof d['orgId'] === 'number'
        ? `org ${d['orgId']} already lives there (\`orgplane orgs locate ${d['orgId']}\`): choose another --to`
        : 'the orgs already live there: choose another --to (`orgplane clusters list`)';
    case 'ORG_ALREADY_MOVING':
      return typeof d['moveId'] === 'string'
        ? `see that move with \`orgplane moves show ${d['moveId']}\`; resume, abort or roll it back before moving the org again`
        : `see its moves with \`orgplane moves list --org ${typeof d['orgId'] === 'number' ? d['orgId'] : '<orgId>'}\``;
    case 'MOVE_NOT_FOUND':
      return 'list the moves with `orgplane moves list`';
    case 'MOVE_BATCH_NOT_FOUND':
      return 'list the moves with `orgplane moves list`; each names its batch';
    case 'INVALID_MOVE_STATE': {
      const allowed = Array.isArray(d['allowed']) ? `; this needs it ${d['allowed'].join(' or ')}` : '';
      const id = typeof d['moveId'] === 'string' ? d['moveId'] : '<id>';
      return `the move is ${typeof d['state'] === 'string' ? d['state'] : 'in another state'}${allowed}: see \`orgplane moves show ${id}\` and runbooks/org-move.md`;
    }
    case 'PLACEMENT_NOT_FOUND':
      return `the org follows its range: see \`orgplane orgs locate ${typeof d['orgId'] === 'number' ? d['orgId'] : '<orgId>'}\``;
    case 'PLACEMENT_MOVE_IN_FLIGHT':
      return typeof d['moveId'] === 'string'
        ? `the move owns the pin: follow it with \`orgplane moves show ${d['moveId']}\`; once it finishes (or you abort or roll it back), try again`
        : apiHint;
    case 'PLACEMENT_OFF_RANGE':
      return typeof d['orgId'] === 'number' && typeof d['rangeClusterId'] === 'string'
        ? `move the org back first: \`orgplane orgs move ${d['orgId']} --to ${d['rangeClusterId']} --follow\`, then \`orgplane orgs unpin ${d['orgId']}\``
        : apiHint;
    case 'INVALID_RANGES':
      // A span of ranges on several clusters (merge), or a bound inside a range (merge, assign).
      if (Array.isArray(d['ranges'])) {
        return 'only ranges on one cluster merge: merge a smaller span (see `orgplane shards list`), or move the orgs first (`orgplane orgs move`) and then route their range (`orgplane shards assign`)';
      }
      if (d['range'] !== undefined && typeof d['lo'] === 'number') return `split there first: \`orgplane shards split --at ${d['lo']}\``;
      if (d['range'] !== undefined && typeof d['hi'] === 'number')
        return `split there first: \`orgplane shards split --at ${d['hi'] + 1}\``;
      return apiHint;
    case 'RANGE_NOT_ALIGNED': {
      // details: the span asked for, and the range its lo or hi falls inside.
      const range = (d['range'] ?? {}) as { lo?: unknown; hi?: unknown };
      const at =
        typeof d['lo'] === 'number' && range.lo !== d['lo']
          ? d['lo']
          : typeof d['hi'] === 'number' && range.hi !== d['hi']
            ? d['hi'] + 1
            : undefined;
      return at === undefined
        ? 'a range move takes whole shard-map ranges: see them with `orgplane shards list`, and split one with `orgplane shards split --at <org id>`'
        : `split the range there first: \`orgplane shards split --at ${at}\` (see \`orgplane shards list\`), then move the range again`;
    }
    case 'RANGE_SPANS_CLUSTERS':
      return "a range move takes ranges of one cluster: move each cluster's part on its own (see `orgplane shards list`)";
    case 'RANGE_ALREADY_MOVING':
    case 'RANGE_MOVING':
      return typeof d['moveId'] === 'string'
        ? `range move ${d['moveId']} holds the range: see it with \`orgplane moves show ${d['moveId']}\`; wait for it to finish (a flipped one finishes now with \`orgplane moves complete ${d['moveId']}\`), or abort or roll it back`
        : 'a range move holds the range: see `orgplane moves list`';
    case 'RANGE_HAS_MOVING_ORGS': {
      const ids = Array.isArray(d['moveIds']) ? (d['moveIds'] as string[]) : [];
      return ids.length > 0
        ? `orgs of the range are moving on their own: see \`orgplane moves show ${ids[0]}\` (and \`orgplane moves list\`); let them finish, or abort them, then move the range`
        : 'orgs of the range are moving on their own: see `orgplane moves list`; let them finish, or abort them, then move the range';
    }
    case 'CLUSTER_HAS_NO_ORGS':
      return typeof d['clusterId'] === 'string'
        ? `${d['clusterId']} serves no range with orgs (orgs with a pin do not count): see \`orgplane shards list\`, and rebalance from a cluster that does`
        : apiHint;
    case 'TOKEN_NOT_FOUND':
      return 'list the tokens with `orgplane tokens list`';
    case 'INVALID_INPUT':
      return fieldHint(details) ?? apiHint;
    default:
      // Hints naming API endpoints stay, pointing at the API reference.
      return apiHint?.includes('/v1/') ? `${apiHint} (control-plane API, see control-plane/API.md)` : apiHint;
  }
}

/** The API's body and query fields as the CLI spells them. */
const FLAG_OF_FIELD: Readonly<Record<string, string>> = {
  orgIds: 'the org ids',
  from: '--from',
  to: '--to',
  percent: '--percent',
  range: '--range',
  concurrency: '--concurrency',
  copyStreams: '--copy-streams',
  readFrom: '--read-from',
  by: '--by',
  dryRun: '--dry-run',
  fenceDeadlineMs: '--fence-deadline-ms',
  graceSeconds: '--grace-seconds',
  batchId: '--batch',
  before: '--before',
  state: '--state',
  orgId: '--org',
  name: '--name',
  scope: '--scope',
};

/** `[{field, message}]` details as one line naming the flags: `the org ids (orgIds[1]) is a duplicate`. */
function fieldHint(details: unknown): string | undefined {
  if (!Array.isArray(details) || details.length === 0) return undefined;
  const parts = details.flatMap((d: { field?: unknown; message?: unknown }) => {
    if (typeof d?.field !== 'string' || typeof d.message !== 'string') return [];
    const base = d.field.replace(/\[\d+\]$/, '');
    const flag = FLAG_OF_FIELD[base];
    return [flag ? `${flag}${base === d.field ? '' : ` (${d.field})`}: ${d.message}` : `${d.field}: ${d.message}`];
  });
  return parts.length ? `fix ${parts.join('; ')}` : undefined;
}
