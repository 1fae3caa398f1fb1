// PrometheusClient against a real Prometheus scraping a real service.

import { freePort, type PrometheusServer, startPrometheus } from '@orgplane/embedded';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InvalidPromqlError, PrometheusUnavailableError } from '../../src/errors.js';
import { PrometheusClient } from '../../src/features/slo-gates/PrometheusClient.js';
import { type MetricsService, requirePrometheus, startMetricsService, waitForSample } from './helpers.js';

let service: MetricsService;
let prometheus: PrometheusServer;
let client: PrometheusClient;

beforeAll(async () => {
  service = await startMetricsService();
  prometheus = await requirePrometheus([service.target]);
  client = new PrometheusClient({ url: prometheus.url });
  await waitForSample(prometheus.url, 'svc_requests_total');
});

afterAll(async () => {
  await prometheus?.stop();
  await service?.close();
});

describe('query', () => {
  test('a query that yields one series is its value', async () => {
    await fetch(`${service.url}/work`).then((r) => r.text());
    await waitForSample(prometheus.url, 'svc_requests_total > 0');
    const result = await client.query('sum(svc_requests_total)');
    expect(result.kind).toBe('value');
    expect(result.kind === 'value' && result.value).toBeGreaterThan(0);
    expect(await client.query('scalar(sum(svc_errors_total)) + 2')).toEqual({ kind: 'value', value: 2 });
  });

  test('no series, or NaN (an error ratio over no requests), is no data', async () => {
    expect(await client.query('sum(rate(svc_no_such_metric_total[10s]))')).toMatchObject({ kind: 'no-data' });
    expect(await client.query('svc_no_such_metric_total')).toMatchObject({ kind: 'no-data', message: 'the query returned no series' });
    expect(await client.query('0/0')).toMatchObject({ kind: 'no-data', message: 'the query returned NaN' });
  });

  test('+Inf is a value, several series are an error', async () => {
    expect(await client.query('1/0')).toEqual({ kind: 'value', value: Number.POSITIVE_INFINITY });
    const several = await client.query('{__name__=~"svc_.*_total"}');
    expect(several).toMatchObject({ kind: 'error' });
    expect(several.kind === 'error' && several.message).toMatch(/returned 2 series, not one: aggregate it/);
  });

  test('a malformed query at evaluation time is an error, not a throw', async () => {
    const result = await client.query('sum(rate(svc_requests_total[10s])');
    expect(result).toMatchObject({ kind: 'error' });
    expect(result.kind === 'error' && result.message).toMatch(/400 bad_data: .*parse error/);
  });

  test('an unreachable Prometheus is an error that names the endpoint, never its credentials', async () => {
    const port = await freePort();
    const down = new PrometheusClient({ url: `http://gate:s3cret-pw@127.0.0.1:${port}/`, timeoutMs: 2000 });
    expect(down.endpoint).toBe(`http://127.0.0.1:${port}`);
    const result = await down.query('up');
    expect(result.kind).toBe('error');
    expect(result.kind === 'error' && result.message).toContain(`Prometheus at http://127.0.0.1:${port} did not answer: ECONNREFUSED`);
    expect(JSON.stringify(result)).not.toContain('s3cret');
  });
});

describe('validate', () => {
  test('a valid instant query passes, even when it has no data yet', async () => {
    await expect(client.validate('sum(rate(svc_errors_total[10s])) / sum(rate(svc_requests_total[10s]))')).resolves.toBeUndefined();
    await expect(client.validate('histogram_quantile(0.99, sum by (le) (rate(nothing_bucket[1m])))')).resolves.toBeUndefined();
  });

  test('malformed PromQL is INVALID_PROMQL with the query in details', async () => {
    const query = 'sum(rate(svc_errors_total[10s])';
    const err = await client.validate(query, 'error-rate').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidPromqlError);
    expect(err).toMatchObject({ code: 'INVALID_PROMQL', statusCode: 400, details: { query } });
    expect((err as Error).message).toMatch(/check 'error-rate': .*parse error/);
  });

  test('a range vector is not one sample: INVALID_PROMQL', async () => {
    const err = await client.validate('svc_requests_total[1m]').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_PROMQL', details: { query: 'svc_requests_total[1m]' } });
    expect((err as Error).message).toMatch(/returns a range vector, not one sample/);
  });

  test('an unknown function is INVALID_PROMQL', async () => {
    await expect(client.validate('no_such_function(up)')).rejects.toMatchObject({ code: 'INVALID_PROMQL' });
  });

  test('when Prometheus does not answer, nothing can be validated: PROMETHEUS_UNAVAILABLE', async () => {
    const down = new PrometheusClient({ url: `http://127.0.0.1:${await freePort()}`, timeoutMs: 2000 });
    const err = await down.validate('up').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrometheusUnavailableError);
    expect(err).toMatchObject({ code: 'PROMETHEUS_UNAVAILABLE', statusCode: 503 });
  });
});

describe('embedded Prometheus', () => {
  test('a missing binary is a named error that says how to install it', async () => {
    const err = await startPrometheus({ binary: 'prometheus-not-installed-here' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'PrometheusNotInstalledError' });
    expect((err as { hint: string }).hint).toMatch(/apt-get install .*prometheus/);
  });

  test('stop() ends the process', async () => {
    const extra = await startPrometheus();
    const pid = extra.pid!;
    expect(() => process.kill(pid, 0)).not.toThrow();
    await extra.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await extra.stop();
  });
});
