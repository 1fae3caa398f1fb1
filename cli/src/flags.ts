// Flags and args that several commands share, and those whose values need parsing, built
// once: a bad value is refused while oclif parses the command line, before run() reads
// anything or asks anything, with the same named error (and exit code 2) wherever it is
// typed. The rules stay in the parse functions these wrap (orgIds.ts, rollouts/parse.ts).
import * as Args from '@oclif/core/args';
import * as Flags from '@oclif/core/flags';
import { COPY_STREAMS, FENCE_DEADLINE_MS, GRACE_SECONDS } from '@orgplane/control-plane/api/rules';
import { CliError, ExitCode } from './errors.js';
import { parseGuardName, parseOrigin, parseRate, parseSubject, parseWindow } from './guards/parse.js';
import { parseOrgId, parseOrgIdRange } from './orgIds.js';
import { parseCheck, parseDuration, parsePercent, parseStagePercents, readOrgIdFile } from './rollouts/parse.js';
import { parseScope, parseTokenId, parseTokenName } from './tokens.js';

/** --reason: kept in the audit log with the change. */
export const reasonFlag = Flags.string({ description: 'why, kept in the audit log' });

/** --yes: destructive commands ask first; scripts (no terminal, or --json) must pass it. */
export const yesFlag = Flags.boolean({ description: 'do not ask for confirmation', default: false });

/** An org id: a whole number (INVALID_ORG_ID). */
export const orgIdFlag = Flags.custom<number>({ helpValue: '<org id>', parse: async (raw) => parseOrgId(raw) });
export const orgIdArg = Args.custom<number>({ parse: async (raw) => parseOrgId(raw) });

/** An inclusive org-id range `<lo>-<hi>` (INVALID_RANGE, INVALID_ORG_ID). */
export const orgIdRangeFlag = Flags.custom<{ lo: number; hi: number }>({
  helpValue: '<lo>-<hi>',
  parse: async (raw) => parseOrgIdRange(raw),
});

/** A rollout percentage 0..100, `%` allowed (INVALID_PERCENT). */
export const percentArg = Args.custom<number>({ parse: async (raw) => parsePercent(raw) });

/** The share of a cluster's orgs to move, 0..100 (INVALID_INPUT, as the API names it). */
export const sharePercentFlag = Flags.custom<number>({
  helpValue: '<0..100>',
  parse: async (raw, _ctx, flag) => {
    try {
      return parsePercent(raw);
    } catch {
      throw new CliError(
        'INVALID_INPUT',
        `--${flag.name} must be a whole number from 0 to 100, got '${raw}'`,
        `for example: --${flag.name} 10`,
        ExitCode.usage,
      );
    }
  },
});

/** A rebalance's share, a number strictly between 0 and 100, `%` allowed (INVALID_INPUT, as the API names it). */
export const rebalancePercentFlag = Flags.custom<number>({
  helpValue: '<0<P<100>',
  parse: async (raw, _ctx, flag) => {
    const match = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(raw);
    const n = match ? Number(match[1]) : Number.NaN;
    if (!(n > 0 && n < 100)) {
      throw new CliError(
        'INVALID_INPUT',
        `--${flag.name} must be a number greater than 0 and less than 100, got '${raw}'`,
        `for example: --${flag.name} 10, or --${flag.name} 2.5`,
        ExitCode.usage,
      );
    }
    return n;
  },
});

/** The fence deadline and grace period of a move: the flags every command that creates moves shares. */
export const moveTimingFlags = {
  'fence-deadline-ms': Flags.integer({
    description: `longest write block of a cutover before it is retried later (${FENCE_DEADLINE_MS.minimum}..${FENCE_DEADLINE_MS.maximum}) [default: 1000]`,
    min: FENCE_DEADLINE_MS.minimum,
    max: FENCE_DEADLINE_MS.maximum,
  }),
  'grace-seconds': Flags.integer({
    description: 'how long a flipped move stays reversible before it completes by itself [default: 3600]',
    min: GRACE_SECONDS.minimum,
    max: GRACE_SECONDS.maximum,
  }),
};

/** How a range move runs: the flags `shards move` and `shards rebalance` share. */
export const rangeMoveFlags = {
  'copy-streams': Flags.integer({
    description: `parallel COPY streams of the bulk copy (${COPY_STREAMS.minimum}..${COPY_STREAMS.maximum}) [default: 4]`,
    min: COPY_STREAMS.minimum,
    max: COPY_STREAMS.maximum,
  }),
  'read-from': Flags.string({
    description:
      "where the bulk copy reads: 'replica' (a healthy replica past the capture's start, else the primary) or 'primary' [default: replica]",
    options: ['replica', 'primary'],
  }),
  ...moveTimingFlags,
};

/** The body fields of `rangeMoveFlags`. */
export function rangeMoveOptions(flags: {
  'copy-streams'?: number | undefined;
  'read-from'?: string | undefined;
  'fence-deadline-ms'?: number | undefined;
  'grace-seconds'?: number | undefined;
}) {
  return {
    copyStreams: flags['copy-streams'],
    readFrom: flags['read-from'],
    fenceDeadlineMs: flags['fence-deadline-ms'],
    graceSeconds: flags['grace-seconds'],
  };
}

/** A duration in seconds: `90`, `30s`, `10m`, `2h` (INVALID_DURATION naming the flag). */
export const durationFlag = Flags.custom<number>({
  helpValue: '<30s|10m|2h>',
  parse: async (raw, _ctx, flag) => parseDuration(raw, `--${flag.name}`),
});

/** Stage percents `pilot,10,25,50,100` (INVALID_STAGES). */
export const stagesFlag = Flags.custom<{ percents: number[]; pilot: boolean }>({
  helpValue: '<pilot,10,25,100>',
  parse: async (raw) => parseStagePercents(raw),
});

/** An SLO check `name:query<threshold`, repeatable (INVALID_CHECK). */
export const checkFlag = Flags.custom<ReturnType<typeof parseCheck>>({
  helpValue: '<name:query<threshold>',
  multiple: true,
  parse: async (raw) => parseCheck(raw),
});

/** A file of org ids, read and checked while parsing (EXCLUDE_FILE_UNREADABLE, INVALID_EXCLUDE_FILE). */
export const orgIdFileFlag = Flags.custom<number[]>({ helpValue: '<file>', parse: async (file) => readOrgIdFile(file) });

/** A token scope: admin, operator, rollout or sdk:read (INVALID_SCOPE). */
export const scopeFlag = Flags.custom<ReturnType<typeof parseScope>>({ helpValue: '<scope>', parse: async (raw) => parseScope(raw) });

/** A token's name, 1..TOKEN_NAME_MAX_LENGTH characters once trimmed (INVALID_TOKEN_NAME). */
export const tokenNameFlag = Flags.custom<string>({ helpValue: '<name>', parse: async (raw) => parseTokenName(raw) });

/** A token id as `tokens list` shows it, never the whole token (INVALID_TOKEN_ID). */
export const tokenIdArg = Args.custom<string>({ parse: async (raw) => parseTokenId(raw) });

/** postgres:// or postgresql:// with a host. */
function isPostgresUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'postgres:' || url.protocol === 'postgresql:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** A postgres:// or postgresql:// URL (INVALID_INPUT naming the flag); the value is never echoed, it may hold a password. */
export const postgresUrlFlag = Flags.custom<string>({
  helpValue: '<postgres://...>',
  parse: async (raw, _ctx, flag) => {
    if (!isPostgresUrl(raw)) {
      throw new CliError(
        'INVALID_INPUT',
        `--${flag.name} is not a Postgres URL`,
        `write it as postgres://user:password@host:5432/db`,
        ExitCode.usage,
      );
    }
    return raw;
  },
});

/** A cluster's replica as `<id>=<postgres url>` (INVALID_INPUT); repeatable. */
export const replicaSpecFlag = Flags.custom<{ id: string; url: string }>({
  helpValue: '<id>=<postgres://...>',
  multiple: true,
  parse: async (raw, _ctx, flag) => {
    const eq = raw.indexOf('=');
    const id = raw.slice(0, eq);
    const url = raw.slice(eq + 1);
    if (eq <= 0 || !isPostgresUrl(url)) {
      throw new CliError(
        'INVALID_INPUT',
        `--${flag.name} must be <id>=<postgres URL>${eq > 0 ? ` (replica '${id}' has no Postgres URL)` : ''}`,
        `for example: --${flag.name} primary-4-replica-1=postgres://app:PASSWORD@db4r1:5432/app`,
        ExitCode.usage,
      );
    }
    return { id, url };
  },
});
/** Requests per window or a burst: a whole number >= 1 (INVALID_RATE_LIMIT). */
export const rateFlag = Flags.custom<number>({ helpValue: '<n>', parse: async (raw, _ctx, flag) => parseRate(raw, flag.name) });
/** A rate-limit window, 1s..24h (INVALID_WINDOW). */
export const windowFlag = Flags.custom<number>({ helpValue: '<60s|1m>', parse: async (raw, _ctx, flag) => parseWindow(raw, flag.name) });
/** A tier or route-class name (INVALID_NAME). */
export const guardNameFlag = Flags.custom<string>({
  helpValue: '<name>',
  parse: async (raw, _ctx, flag) => parseGuardName(raw, flag.name),
});
/** `org` or `user` (INVALID_SUBJECT). */
export const subjectFlag = Flags.custom<'org' | 'user'>({ helpValue: '<org|user>', parse: async (raw) => parseSubject(raw) });
/** An origin, canonical (INVALID_ORIGIN). */
export const originArg = Args.custom<string>({ parse: async (raw) => parseOrigin(raw) });
