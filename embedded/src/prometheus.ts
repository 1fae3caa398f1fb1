// A real Prometheus server (Debian's `prometheus` package), for the lab and for the
// SLO-gate tests: it scrapes the given targets every second and answers the HTTP API
// on a loopback port. Its config and TSDB live in a temp dir removed by stop().

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sleep } from '@orgplane/kit';
import { execa, type ResultPromise } from 'execa';
import { freePort } from './postgresServer.js';

export class PrometheusNotInstalledError extends Error {
  override name = 'PrometheusNotInstalledError';
  readonly hint =
    'install it as .ci/run does: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus';
  constructor(binary: string) {
    super(`the prometheus binary '${binary}' is not installed (Debian's prometheus package provides it)`);
  }
}

export class PrometheusStartError extends Error {
  override name = 'PrometheusStartError';
}

export interface ScrapeTarget {
  /** The scrape job name (the `job` label). */
  job: string;
  /** host:port pairs, scraped over HTTP at `metricsPath`. */
  targets: string[];
  metricsPath?: string;
  /** A file holding a bearer token Prometheus sends with every scrape (it reads it at each scrape). */
  credentialsFile?: string;
}

export interface PrometheusServerOptions {
  scrapeTargets?: ScrapeTarget[];
  /** Default 1 s, so that tests see a new sample every second. */
  scrapeIntervalSeconds?: number;
  /** Default a free loopback port. */
  port?: number;
  /** Default `prometheus` from PATH. */
  binary?: string;
  /** Default 30 s. */
  readyTimeoutMs?: number;
}

export interface PrometheusServer {
  /** http://127.0.0.1:<port> (no credentials). */
  readonly url: string;
  readonly port: number;
  readonly pid: number | undefined;
  /** The last lines Prometheus logged, for failure messages. */
  logTail(): string;
  /** SIGTERM, wait for the exit (SIGKILL after 10 s), remove the temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** The prometheus.yml for the given targets. JSON is valid YAML, so no YAML writer is needed. */
export function prometheusConfig(targets: ScrapeTarget[], scrapeIntervalSeconds = 1): string {
  const config = {
    global: { scrape_interval: `${scrapeIntervalSeconds}s`, scrape_timeout: `${scrapeIntervalSeconds}s`, evaluation_interval: '15s' },
    scrape_configs: targets.map((t) => ({
      job_name: t.job,
      metrics_path: t.metricsPath ?? '/metrics',
      ...(t.credentialsFile ? { authorization: { type: 'Bearer', credentials_file: t.credentialsFile } } : {}),
      static_configs: [{ targets: t.targets }],
    })),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export async function startPrometheus(options: PrometheusServerOptions = {}): Promise<PrometheusServer> {
  const binary = options.binary ?? 'prometheus';
  const port = options.port ?? (await freePort());
  const root = await mkdtemp(path.join(tmpdir(), 'orgplane-prometheus-'));
  const configFile = path.join(root, 'prometheus.yml');
  await writeFile(configFile, prometheusConfig(options.scrapeTargets ?? [], options.scrapeIntervalSeconds ?? 1));

  const lines: string[] = [];
  const child: ResultPromise = execa(
    binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(root, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    { stdin: 'ignore', all: true, reject: false, cleanup: true, buffer: false },
  );
  child.all?.on('data', (chunk: Buffer) => {
    lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    if (lines.length > 200) lines.splice(0, lines.length - 200);
  });
  let exited = false;
  let spawnError: unknown;
  const done = child.then(
    (res) => {
      exited = true;
      if (res.failed && res.exitCode === undefined && !res.isTerminated) spawnError = res;
    },
    (err: unknown) => {
      exited = true;
      spawnError = err;
    },
  );

  const url = `http://127.0.0.1:${port}`;
  let stopped = false;
  const server: PrometheusServer = {
    url,
    port,
    pid: child.pid,
    logTail: () => lines.slice(-20).join('\n'),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (!exited) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await done;
        clearTimeout(timer);
      }
      await rm(root, { recursive: true, force: true });
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (exited) {
      await server.stop();
      const code = (spawnError as { code?: string } | undefined)?.code;
      if (code === 'ENOENT') throw new PrometheusNotInstalledError(binary);
      throw new PrometheusStartError(`prometheus exited before it was ready on port ${port}:\n${server.logTail()}`);
    }
    if (await isReady(url)) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new PrometheusStartError(
        `prometheus was not ready on port ${port} after ${options.readyTimeoutMs ?? 30_000} ms:\n${lines.slice(-20).join('\n')}`,
      );
    }
    await sleep(100);
  }
}

async function isReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
