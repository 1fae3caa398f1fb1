// Redis for the lab and the tests: Debian's redis-server, never a download. `redisAnswers`
// speaks just enough RESP to PING; `startRedisServer` runs a private redis-server on its own
// port (tests that stop Redis must never stop the shared one).
import { type ChildProcess, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { sleep } from '@orgplane/kit';
import { freePort } from './postgresServer.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class RedisUnavailableError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'RedisUnavailableError';
  }
}

/** True when something at `url` answers PING with PONG within `timeoutMs`. */
export function redisAnswers(url: string, timeoutMs = 500): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

export interface RedisServer {
  url: string;
  port: number;
  pid: number | undefined;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
}

/**
 * A redis-server that keeps nothing on disk. `detached`: it outlives this process (the lab).
 * `port` defaults to a free one.
 */
export async function startRedisServer(options: { port?: number; detached?: boolean; logFile?: string } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'];
  if (options.logFile) args.push('--logfile', options.logFile);
  let child: ChildProcess;
  try {
    child = spawn('redis-server', args, { stdio: 'ignore', detached: options.detached ?? false });
  } catch (err) {
    throw new RedisUnavailableError(`redis-server could not start: ${(err as Error).message}`, INSTALL_HINT);
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const failed = new Promise<Error>((resolve) => child.once('error', resolve));
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const error = await Promise.race([failed, sleep(50).then(() => null)]);
    if (error) throw new RedisUnavailableError(`redis-server could not start: ${error.message}`, INSTALL_HINT);
    if (await redisAnswers(url, 200)) break;
    if (i === 99)
      throw new RedisUnavailableError(
        `redis-server on port ${port} did not answer`,
        'see its log, or start one yourself and set REDIS_URL',
      );
  }
  if (options.detached) child.unref();
  return {
    url,
    port,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export const INSTALL_HINT = 'install it with `apt-get install -y redis-server` (Debian), or point REDIS_URL at a running Redis';

/** Make sure a Redis answers on `url`; start redis-server on its port (local URLs only) when none does. */
export async function ensureRedis(
  url = DEFAULT_REDIS_URL,
  options: { detached?: boolean; logFile?: string } = {},
): Promise<{ started: RedisServer | null }> {
  if (await redisAnswers(url)) return { started: null };
  const { hostname, port } = new URL(url);
  if (hostname !== '127.0.0.1' && hostname !== 'localhost') {
    throw new RedisUnavailableError(`no Redis answers on ${hostname}:${port || 6379}`, 'start it, or point REDIS_URL at one that runs');
  }
  return { started: await startRedisServer({ port: Number(port || 6379), ...options }) };
}
