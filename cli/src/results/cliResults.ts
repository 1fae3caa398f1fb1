// Schemas of the --json documents that are the CLI's own (not an API document passed
// through): the lab, runbooks, the rollout watch, cohort exports, orgs move and errors.
// cli/schemas/ is generated from these and from the control plane's API schemas.
import {
  Move,
  MoveBatch,
  MoveCounts,
  OrgId,
  RebalancePlan,
  ResourceId,
  Timestamp,
  Version,
  WirePlacementSchema,
} from '@orgplane/control-plane/api';
import { CHECK_OPS, FLAG_PATTERN, PERCENT_MAX, ROLLOUT_STATUSES } from '@orgplane/control-plane/api/rules';
import { type TProperties, Type } from 'typebox';

const closed = <T extends TProperties>(properties: T, description?: string) =>
  Type.Object(properties, { additionalProperties: false, ...(description ? { description } : {}) });
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

const AbsolutePath = Type.String({ pattern: '^/' });
const Pid = nullable(Type.Integer({ minimum: 1, description: 'The process id while it runs, else null.' }));
const LabPostgresUrl = Type.String({
  format: 'uri',
  pattern: '^postgres(ql)?://',
  description: 'How to connect to a lab Postgres server, password included.',
});
const serverFields = { url: LabPostgresUrl, running: Type.Boolean(), pid: Pid, logFile: AbsolutePath };
const Server = closed(serverFields, 'ServerStatus: one Postgres server of the lab.');
const Replica = closed(
  { id: ResourceId, ...serverFields, replayLagBytes: nullable(Type.Integer({ minimum: 0 })) },
  'ReplicaStatus: a streaming replica and how far its replay is behind.',
);

/** LabPresent (cli/src/lab/status.ts): what the lab runs and how to reach it. */
const labFields = {
  state: Type.Enum(['running', 'stopped', 'partial']),
  dir: AbsolutePath,
  orgs: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  complete: Type.Boolean(),
  controlPlane: closed({
    url: Type.String({ format: 'uri', pattern: '^https?://' }),
    token: nullable(
      Type.String({
        pattern: '^op_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$',
        description: "The lab's admin token, or null before the lab has one.",
      }),
    ),
    pid: Pid,
    running: Type.Boolean(),
    logFile: AbsolutePath,
  }),
  prometheus: closed(
    {
      state: Type.Enum(['running', 'stopped', 'absent']),
      url: nullable(Type.String({ format: 'uri', pattern: '^http://127\\.0\\.0\\.1:[0-9]+$' })),
      pid: Pid,
      logFile: AbsolutePath,
      hint: nullable(Type.String({ minLength: 1 })),
    },
    'PrometheusStatus: absent when the prometheus binary is not installed (the SLO gates are off; hint says how to fix it).',
  ),
  controlDb: Server,
  clusters: Type.Array(closed({ id: ResourceId, primary: Server, replicas: Type.Array(Replica, { maxItems: 3 }) }), {
    minItems: 1,
    maxItems: 10,
  }),
  tenantApi: Type.Optional(
    closed(
      {
        instances: Type.Array(
          closed({
            id: ResourceId,
            url: Type.String({ format: 'uri', pattern: '^http://127\\.0\\.0\\.1:[0-9]+$' }),
            pid: Pid,
            running: Type.Boolean(),
            logFile: AbsolutePath,
          }),
        ),
        redis: closed({ url: Type.String({ pattern: '^rediss?://' }), startedByLab: Type.Boolean() }),
      },
      "TenantApiStatus: the tenant API's instances (Prometheus scrapes them as job tenant-api) and the Redis of their guards.",
    ),
  ),
};

export const LabStatusResult = closed(
  labFields,
  'LabPresent (cli/src/lab/status.ts): what the lab runs and how to reach it; its URLs carry the lab password and token on purpose.',
);
export const LabUpResult = closed(
  {
    ...labFields,
    alreadyRunning: Type.Boolean(),
    started: Type.Array(ResourceId, { uniqueItems: true, description: 'Ids of the servers this run started.' }),
  },
  "LabUpResult (cli/src/lab/up.ts): the lab's status plus what this run started.",
);
/** LabReplicaResult (cli/src/lab/replicaFaults.ts). */
export const LabReplicaResult = closed(
  {
    replica: ResourceId,
    action: Type.Enum(['pause-replay', 'resume-replay', 'stop', 'start']),
    running: Type.Boolean(),
    replay: nullable(Type.Enum(['not paused', 'pause requested', 'paused'])),
  },
  'A lab replica after a fault was applied or undone.',
);

export const LabDownResult = closed(
  { stopped: Type.Array(ResourceId, { uniqueItems: true, description: 'Ids of the servers stopped.' }), purged: Type.Boolean() },
  "LabDownResult (cli/src/lab/down.ts): what was stopped, and whether the lab's data was deleted (--purge).",
);

const runbookFields = {
  name: Type.String({ pattern: '^[^/]+$', description: 'The file name without .md.' }),
  title: Type.String({ minLength: 1, description: 'The first heading.' }),
  path: Type.String({ pattern: '^/.*\\.md$', description: 'The absolute path of the markdown file.' }),
};
export const RunbooksListResult = closed({ runbooks: Type.Array(closed(runbookFields)) }, 'The runbooks shipped beside the CLI, by name.');
export const RunbooksShowResult = closed(
  { ...runbookFields, markdown: Type.String({ minLength: 1 }) },
  "A runbook's summary and its whole markdown.",
);

const Outcome = Type.Enum(['pass', 'fail', 'no-data', 'error', 'pending']);
export const RolloutsWatchResult = closed(
  {
    flag: Type.String({ pattern: FLAG_PATTERN }),
    status: Type.Enum(ROLLOUT_STATUSES),
    enabled: Type.Boolean(),
    mode: Type.Enum(['manual', 'automatic']),
    onFailure: Type.Enum(['pause', 'rollback']),
    stageIndex: Type.Integer({ minimum: -1 }),
    stageCount: Type.Integer({ minimum: 1 }),
    percent: Type.Integer({ minimum: 0, maximum: PERCENT_MAX }),
    stageStartedAt: nullable(Timestamp),
    pilot: nullable(closed({ cohort: Type.String({ minLength: 1 }), size: nullable(Type.Integer({ minimum: 0 })) })),
    coverage: closed({
      orgs: nullable(Type.Integer({ minimum: 0, description: 'Orgs the flag is on for; null when the population is unknown.' })),
      share: Type.Number({ minimum: 0, maximum: 1 }),
      population: nullable(Type.Integer({ minimum: 0 })),
      populationSource: Type.Enum(['pilot-strata', 'unknown']),
      estimated: Type.Boolean(),
    }),
    checks: Type.Array(
      closed({
        name: Type.String({ minLength: 1 }),
        query: Type.String({ minLength: 1 }),
        op: Type.Enum(CHECK_OPS),
        threshold: Type.Number(),
        value: nullable(Type.Number()),
        outcome: Outcome,
        at: nullable(Timestamp),
        message: nullable(Type.String()),
      }),
      { description: "The current stage's checks with their latest analysis." },
    ),
    lastDecision: nullable(
      closed({
        source: Type.Enum(['gate', 'analyses']),
        at: Timestamp,
        action: nullable(Type.Enum(['advance', 'pause', 'rollback'])),
        outcome: Type.Enum(['pass', 'fail']),
        stageIndex: Type.Integer({ minimum: -1 }),
        check: nullable(Type.String()),
        message: nullable(Type.String()),
      }),
    ),
    version: Version,
    observedAt: Timestamp,
  },
  'WatchState (cli/src/rollouts/watchState.ts): what the live view shows.',
);

const cohortFields = { name: Type.String({ minLength: 1 }), size: Type.Integer({ minimum: 0 }), seed: Type.Integer({ minimum: 0 }) };
export const CohortsExportResult = Type.Union(
  [
    closed({
      ...cohortFields,
      exported: Type.Integer({ minimum: 0, description: 'Org ids written; equals size.' }),
      format: Type.Enum(['csv', 'json']),
      output: Type.String({ minLength: 1, description: 'The file written.' }),
    }),
    closed({ ...cohortFields, orgIds: Type.Array(OrgId, { uniqueItems: true }) }),
  ],
  { description: 'With --output: what was written where. Without: every org id of the cohort.' },
);

export const OrgsMoveResult = Type.Union(
  [
    closed({ batch: MoveBatch, moves: Type.Array(Move), followed: Type.Literal(false), outcome: Type.Literal('started') }),
    closed({
      batch: closed({ ...MoveBatch.properties, counts: MoveCounts, total: Type.Integer({ minimum: 0 }) }),
      moves: Type.Array(Move),
      followed: Type.Literal(true),
      outcome: Type.Enum(['arrived', 'stopped']),
    }),
  ],
  { description: 'POST /v1/moves: the batch and its moves; with --follow each move as it rests and the batch with its counts.' },
);

export const ShardsRebalanceResult = Type.Union(
  [
    closed({ plan: RebalancePlan }, 'With --dry-run: the plan, as POST /v1/shard-map/rebalance answered it; nothing changed.'),
    closed({
      plan: RebalancePlan,
      batch: MoveBatch,
      moves: Type.Array(Move),
      followed: Type.Literal(false),
      outcome: Type.Literal('started'),
    }),
    closed({
      plan: RebalancePlan,
      batch: closed({ ...MoveBatch.properties, counts: MoveCounts, total: Type.Integer({ minimum: 0 }) }),
      moves: Type.Array(Move),
      followed: Type.Literal(true),
      outcome: Type.Enum(['arrived', 'stopped']),
    }),
  ],
  {
    description:
      'POST /v1/shard-map/rebalance: the plan; without --dry-run also the batch and its range moves, with --follow each as it rests and the batch with its counts.',
  },
);

export const CliErrorResult = closed(
  {
    error: closed({
      name: Type.Enum(['CliError', 'ApiError'], { description: 'ApiError when the control plane refused, else CliError.' }),
      code: Type.String({ pattern: '^[A-Z][A-Z0-9_]+$', description: 'Stable: scripts branch on it, never on message.' }),
      message: Type.String({ minLength: 1 }),
      hint: Type.Optional(Type.String({ minLength: 1, description: 'What to try next, when known.' })),
      exitCode: Type.Enum([1, 2, 3, 4, 5, 6], {
        description: 'ExitCode in cli/src/errors.ts: 1 failure, 2 usage, 3 auth, 4 not found, 5 conflict, 6 unreachable.',
      }),
      details: Type.Optional(Type.Unknown({ description: 'Machine-readable particulars from the control plane.' })),
    }),
  },
  'What every command prints with --json when it fails; the process exits with exitCode.',
);

/** OrgsPinResult (cli/src/commands/orgs/pin.ts): PUT /v1/placements/:orgId at the version read; changed is false when the org was pinned there already. */
export const OrgsPinResult = closed(
  { orgId: OrgId, changed: Type.Boolean(), version: Version, placement: WirePlacementSchema },
  "The org's pin to the cluster that held it.",
);
/** OrgsUnpinResult (cli/src/commands/orgs/unpin.ts): DELETE /v1/placements/:orgId. */
export const OrgsUnpinResult = closed({ orgId: OrgId, version: Version }, 'The pin is gone; its range routes the org again.');
/** OrgsPinsResult (cli/src/commands/orgs/pins.ts): one page of GET /v1/placements; nextAfter is the next page's --after. */
export const OrgsPinsResult = closed(
  { version: Version, placements: Type.Array(WirePlacementSchema), nextAfter: nullable(OrgId) },
  'One page of pins by org id.',
);
