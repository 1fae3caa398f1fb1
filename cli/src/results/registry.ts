// The schema of every command's --json document, keyed by command id. cli/schemas/ is
// generated from it (`npm run schemas:generate -w cli`), and a test fails when a command
// has no entry here, an entry has no command, or a checked-in schema is stale.
//
// A new command adds one line: its id and either the control plane's schema of the API
// document it prints (from @orgplane/control-plane/api) or a schema in cliResults.ts.
import {
  AuditList,
  ClusterChange,
  ClusterList,
  CohortList,
  CohortPage,
  CorsChange,
  CorsList,
  CreatedToken,
  HealthSettingsDoc,
  History,
  LimitChange,
  LimitList,
  Move,
  MoveList,
  OrgLocation,
  PilotSelection,
  RangesResult,
  ReplicaChange,
  ReplicaList,
  RevokedToken,
  Rollout,
  RolloutList,
  RolloutWithAnalyses,
  ShardMap,
  TokenList,
} from '@orgplane/control-plane/api';
import type { TSchema } from 'typebox';
import {
  CliErrorResult,
  CohortsExportResult,
  LabDownResult,
  LabReplicaResult,
  LabStatusResult,
  LabUpResult,
  OrgsMoveResult,
  OrgsPinResult,
  OrgsPinsResult,
  OrgsUnpinResult,
  RolloutsWatchResult,
  RunbooksListResult,
  RunbooksShowResult,
  ShardsRebalanceResult,
} from './cliResults.js';

export interface ResultSchema {
  /** What the document is, and where it comes from. */
  description: string;
  schema: TSchema;
}

const api = (route: string, schema: TSchema): ResultSchema => ({ description: `The control plane's answer to ${route}.`, schema });
const cli = (description: string, schema: TSchema): ResultSchema => ({ description, schema });
const moveAction = (verb: string) =>
  api(`POST /v1/moves/:id/${verb}; with --follow, GET /v1/moves/:id once the move rests (exit 1 unless it ended as asked)`, Move);

export const RESULT_SCHEMAS: Record<string, ResultSchema> = {
  'audit:list': api('GET /v1/audit, newest first', AuditList),
  'clusters:add': api('POST /v1/clusters (URLs never carry a password)', ClusterChange),
  'clusters:list': api('GET /v1/clusters (URLs never carry a password)', ClusterList),
  'clusters:update': api('PATCH /v1/clusters/:id', ClusterChange),
  'cohorts:export': cli('cli/src/commands/cohorts/export.ts', CohortsExportResult),
  'cohorts:list': api('GET /v1/cohorts', CohortList),
  'cohorts:show': api('GET /v1/cohorts/:name, one page of its org ids', CohortPage),
  'cors:add': api('POST /v1/cors/origins', CorsChange),
  'cors:list': api('GET /v1/cors', CorsList),
  'cors:remove': api('DELETE /v1/cors/origins/:origin', CorsChange),
  'lab:down': cli('cli/src/commands/lab/down.ts', LabDownResult),
  'lab:replica:pause-replay': cli('cli/src/commands/lab/replica/pause-replay.ts', LabReplicaResult),
  'lab:replica:resume-replay': cli('cli/src/commands/lab/replica/resume-replay.ts', LabReplicaResult),
  'lab:replica:start': cli('cli/src/commands/lab/replica/start.ts', LabReplicaResult),
  'lab:replica:stop': cli('cli/src/commands/lab/replica/stop.ts', LabReplicaResult),
  'lab:status': cli('cli/src/commands/lab/status.ts; without a lab the command fails with LAB_NOT_FOUND', LabStatusResult),
  'lab:up': cli('cli/src/commands/lab/up.ts', LabUpResult),
  'limits:list': api('GET /v1/limits', LimitList),
  'limits:set': api('PUT /v1/limits/{tiers/:tier|orgs/:orgId}/:subject/:routeClass', LimitChange),
  'limits:unset': api('DELETE /v1/limits/{tiers/:tier|orgs/:orgId}/:subject/:routeClass', LimitChange),
  'moves:abort': moveAction('abort'),
  'moves:complete': moveAction('complete'),
  'moves:list': api('GET /v1/moves, newest first', MoveList),
  'moves:resume': moveAction('resume'),
  'moves:rollback': moveAction('rollback'),
  'moves:show': api('GET /v1/moves/:id, with its tables and events', Move),
  'orgs:locate': api('GET /v1/orgs/:orgId/location', OrgLocation),
  'orgs:move': cli('cli/src/commands/orgs/move.ts', OrgsMoveResult),
  'orgs:pin': cli('cli/src/commands/orgs/pin.ts', OrgsPinResult),
  'orgs:pins': cli('cli/src/commands/orgs/pins.ts', OrgsPinsResult),
  'orgs:unpin': cli('cli/src/commands/orgs/unpin.ts', OrgsUnpinResult),
  'pilot:select': api('POST /v1/pilot/select', PilotSelection),
  'replicas:add': api('POST /v1/clusters/:id/replicas', ClusterChange),
  'replicas:drain': api('POST /v1/replicas/:id/drain', ReplicaChange),
  'replicas:list': api('GET /v1/replicas: state and last probe of each replica', ReplicaList),
  'replicas:remove': api('DELETE /v1/clusters/:id/replicas/:replicaId', ClusterChange),
  'replicas:settings': api('GET /v1/replicas/settings, or PATCH with any threshold flag', HealthSettingsDoc),
  'replicas:undrain': api('POST /v1/replicas/:id/undrain', ReplicaChange),
  'rollouts:advance': api('POST /v1/rollouts/:flag/advance', Rollout),
  'rollouts:create': api('POST /v1/rollouts: the new rollout, paused at stage -1', Rollout),
  'rollouts:kill': api('POST /v1/rollouts/:flag/kill', Rollout),
  'rollouts:list': api('GET /v1/rollouts', RolloutList),
  'rollouts:pause': api('POST /v1/rollouts/:flag/pause', Rollout),
  'rollouts:resume': api('POST /v1/rollouts/:flag/resume', Rollout),
  'rollouts:rollback': api('POST /v1/rollouts/:flag/rollback', Rollout),
  'rollouts:set': api('POST /v1/rollouts/:flag/set', Rollout),
  'rollouts:show': api('GET /v1/rollouts/:flag, with its latest analyses', RolloutWithAnalyses),
  'rollouts:watch': cli('cli/src/rollouts/watchState.ts (--json, --once, or without a terminal)', RolloutsWatchResult),
  'runbooks:list': cli('cli/src/commands/runbooks/list.ts', RunbooksListResult),
  'runbooks:show': cli('cli/src/commands/runbooks/show.ts', RunbooksShowResult),
  'shards:assign': api('POST /v1/shard-map/assign: the whole map after the assignment', RangesResult),
  'shards:history': api('GET /v1/shard-map/history, newest first', History),
  'shards:list': api('GET /v1/shard-map', ShardMap),
  'shards:move': cli('cli/src/commands/shards/move.ts: POST /v1/moves {range}, one range move', OrgsMoveResult),
  'shards:rebalance': cli('cli/src/commands/shards/rebalance.ts', ShardsRebalanceResult),
  'shards:merge': api('POST /v1/shard-map/merge: the whole map after the merge', RangesResult),
  'shards:split': api('POST /v1/shard-map/split: the whole map after the split', RangesResult),
  'tokens:create': api('POST /v1/tokens (the only time the secret is shown)', CreatedToken),
  'tokens:list': api('GET /v1/tokens (never a secret)', TokenList),
  'tokens:revoke': api('DELETE /v1/tokens/:id', RevokedToken),
};

/** What every command prints with --json when it fails. */
export const ERROR_SCHEMA: ResultSchema = cli('CliError.toJSON (cli/src/errors.ts), printed by the base command', CliErrorResult);
export const ERROR_SCHEMA_FILE = 'error.json';

/** `shards:split` -> `shards-split.json`. */
export const schemaFileOf = (commandId: string): string => `${commandId.replaceAll(':', '-')}.json`;

/** The file's whole text: a JSON Schema 2020-12 document. */
export function schemaDocument(file: string, title: string, result: ResultSchema): string {
  const own = (result.schema as { description?: string }).description;
  const doc = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: file,
    title,
    ...result.schema,
    description: own ? `${result.description} ${own}` : result.description,
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Every file of cli/schemas/ and its text, for the command ids the CLI has. */
export function schemaFiles(commandIds: readonly string[]): Map<string, string> {
  const unknown = commandIds.filter((id) => !(id in RESULT_SCHEMAS));
  if (unknown.length > 0) {
    throw new Error(`no --json schema for ${unknown.join(', ')}: add each to RESULT_SCHEMAS in cli/src/results/registry.ts`);
  }
  const stray = Object.keys(RESULT_SCHEMAS).filter((id) => !commandIds.includes(id));
  if (stray.length > 0) throw new Error(`RESULT_SCHEMAS names commands the CLI does not have: ${stray.join(', ')}`);
  const files = new Map<string, string>();
  for (const id of [...commandIds].sort()) {
    const file = schemaFileOf(id);
    files.set(file, schemaDocument(file, `orgplane ${id.replaceAll(':', ' ')} --json`, RESULT_SCHEMAS[id] as ResultSchema));
  }
  files.set(ERROR_SCHEMA_FILE, schemaDocument(ERROR_SCHEMA_FILE, 'orgplane <any command> --json, on failure', ERROR_SCHEMA));
  return files;
}

/** The ids of the CLI's own commands, sorted: plugins' commands (autocomplete) print no --json document. */
export function ownCommandIds(config: {
  commands: readonly { id: string; pluginName?: string | undefined }[];
  pjson: { name: string };
}): string[] {
  return config.commands
    .filter((c) => c.pluginName === config.pjson.name)
    .map((c) => c.id)
    .sort();
}
