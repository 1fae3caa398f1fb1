// pino with the secrets taken out: Authorization headers, tokens, and passwords in
// connection URLs never reach the log.
import pino from 'pino';
import type { Config } from './config.js';
import { scrubUrlPasswords } from './lib/postgresUrl.js';

export type Logger = pino.Logger;

const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'password',
  '*.password',
  'databaseUrl',
  '*.databaseUrl',
  'connectionString',
  '*.connectionString',
];

function scrubValue(value: unknown): unknown {
  return typeof value === 'string' ? scrubUrlPasswords(value) : value;
}

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      base: { service: 'orgplane-control-plane' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        err(err: Error) {
          const serialized = pino.stdSerializers.err(err);
          return { ...serialized, message: scrubUrlPasswords(serialized.message), stack: scrubUrlPasswords(serialized.stack ?? '') };
        },
      },
      formatters: {
        // Top-level strings (messages from libraries, URLs) lose any URL password.
        log(object) {
          return Object.fromEntries(Object.entries(object).map(([key, value]) => [key, scrubValue(value)]));
        },
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map(scrubValue) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
