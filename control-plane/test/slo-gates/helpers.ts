// SLO-gate fixtures: a small service that counts requests and errors (prom-client), a
// bounded traffic loop against it, and a real Prometheus scraping it every second.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrometheusNotInstalledError, type PrometheusServer, startPrometheus } from '@orgplane/embedded';
import { Counter, Registry } from 'prom-client';

export interface MetricsService {
  /** host:port, for a scrape target. */
  target: string;
  url: string;
  /** While true, every request answers 500 and counts as an error. */
  failing: boolean;
  /** When the service last started failing (ms since the epoch). */
  failingSince: number | null;
  fail(): void;
  recover(): void;
  /** Send `perSecond` requests a second until stop() (at most `limitSeconds`). */
  startTraffic(perSecond?: number, limitSeconds?: number): void;
  close(): Promise<void>;
}

export async function startMetricsService(): Promise<MetricsService> {
  const registry = new Registry();
  const requests = new Counter({ name: 'svc_requests_total', help: 'requests', registers: [registry] });
  const errors = new Counter({ name: 'svc_errors_total', help: 'failed requests', registers: [registry] });
  const server: Server = createServer((req, res) => {
    if (req.url === '/metrics') {
      registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
      return;
    }
    requests.inc();
    if (service.failing) {
      errors.inc();
      res.writeHead(500).end('failing');
    } else res.writeHead(200).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  let traffic: NodeJS.Timeout | null = null;
  const service: MetricsService = {
    target: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    failing: false,
    failingSince: null,
    fail() {
      service.failing = true;
      service.failingSince = Date.now();
    },
    recover() {
      service.failing = false;
      service.failingSince = null;
    },
    startTraffic(perSecond = 20, limitSeconds = 120) {
      if (traffic) return;
      const stopAt = Date.now() + limitSeconds * 1000;
      traffic = setInterval(() => {
        if (Date.now() > stopAt) {
          if (traffic) clearInterval(traffic);
          return;
        }
        fetch(`${service.url}/work`)
          .then((res) => res.body?.cancel())
          .catch(() => {});
      }, 1000 / perSecond);
    },
    async close() {
      if (traffic) clearInterval(traffic);
      traffic = null;
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return service;
}

/**
 * A real Prometheus scraping the targets every second. When the binary is missing the
 * test fails (it is not skipped): CI installs it, and so must a developer.
 */
export async function requirePrometheus(targets: string[]): Promise<PrometheusServer> {
  try {
    return await startPrometheus({ scrapeTargets: [{ job: 'svc', targets }], scrapeIntervalSeconds: 1 });
  } catch (err) {
    if (err instanceof PrometheusNotInstalledError) {
      throw new Error(`${err.message}. The SLO-gate tests need a real Prometheus: run .ci/run's install step (${err.hint}).`);
    }
    throw err;
  }
}

/** Poll a PromQL query until it returns a number (the first scrapes have landed). */
export async function waitForSample(prometheusUrl: string, query: string, limitMs = 20_000): Promise<number> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const res = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
    const value = body.data?.result?.[0]?.value[1];
    if (value !== undefined && value !== 'NaN') return Number(value);
    if (Date.now() > deadline) throw new Error(`timed out waiting for a sample of ${query}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
