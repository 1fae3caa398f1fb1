// The guards' only contact with Redis: a client the host creates (ioredis, an optional peer
// dependency: nothing here imports it at run time), every call bounded by a timeout, and
// scripts sent by SHA with one EVAL fallback after a Redis restart (NOSCRIPT).
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export type RedisClient = Pick<Redis, 'evalsha' | 'eval' | 'get' | 'set' | 'del' | 'pipeline'>;

export class RedisTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Redis did not answer within ${timeoutMs} ms`);
    this.name = 'RedisTimeoutError';
  }
}

/** `promise`, or a RedisTimeoutError after `timeoutMs`; the late answer is ignored. */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisTimeoutError(timeoutMs)), timeoutMs);
    timer.unref();
  });
  promise.catch(() => {});
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** One round trip (two only after Redis lost its script cache). */
  async run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!String((err as Error)?.message).startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
