// Reads SLO checks from a real Prometheus HTTP API: instant queries on /api/v1/query.
// A check's query must come down to one number; no series (or NaN, e.g. an error ratio
// with no traffic) is "no data", and anything else that goes wrong is an error with a
// message that never carries the URL's credentials.
import { InvalidPromqlError, PrometheusUnavailableError } from '../../errors.js';

export type QueryResult = { kind: 'value'; value: number } | { kind: 'no-data'; message: string } | { kind: 'error'; message: string };

export interface PrometheusClientOptions {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:9090; may carry basic-auth userinfo. */
  url: string;
  timeoutMs?: number;
}

interface ApiAnswer {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

type Fetched = { ok: true; status: number; answer: ApiAnswer } | { ok: false; message: string };

export class PrometheusClient {
  /** The URL without userinfo: what messages and logs may show. */
  readonly endpoint: string;
  private readonly authorization: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: PrometheusClientOptions) {
    const url = new URL(options.url);
    // fetch() refuses URLs with credentials; they travel as a header instead.
    this.authorization =
      url.username || url.password
        ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
        : undefined;
    url.username = '';
    url.password = '';
    this.endpoint = url.toString().replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  /** One instant query, reduced to one number, no data, or an error. Never throws. */
  async query(promql: string, at?: Date): Promise<QueryResult> {
    const fetched = await this.instant(promql, at);
    if (!fetched.ok) return { kind: 'error', message: fetched.message };
    const { answer, status } = fetched;
    if (answer.status !== 'success') {
      return { kind: 'error', message: `Prometheus answered ${status} ${answer.errorType ?? ''}: ${answer.error ?? 'no message'}`.trim() };
    }
    return reduce(answer.data);
  }

  /**
   * Ask Prometheus whether a check's query parses and yields an instant value. Throws
   * InvalidPromqlError when it does not, PrometheusUnavailableError when Prometheus
   * cannot say.
   */
  async validate(promql: string, check?: string): Promise<void> {
    const fetched = await this.instant(promql);
    if (!fetched.ok) throw new PrometheusUnavailableError(fetched.message);
    const { answer, status } = fetched;
    const prefix = check === undefined ? '' : `check '${check}': `;
    if (answer.status === 'success') {
      const type = answer.data?.resultType;
      if (type === 'vector' || type === 'scalar') return;
      throw new InvalidPromqlError(
        promql,
        `${prefix}it returns a ${type === 'matrix' ? 'range vector' : (type ?? 'nothing')}, not one sample`,
        {
          hint: 'a check must return one sample: aggregate it with sum() or max() and drop the range selector',
        },
      );
    }
    // bad_data is a query Prometheus cannot parse (HTTP 400); an evaluation error
    // (execution, 422) means the query is PromQL but cannot be run as given.
    if (answer.errorType === 'bad_data' || answer.errorType === 'execution' || status === 400 || status === 422) {
      throw new InvalidPromqlError(promql, `${prefix}${answer.error ?? `Prometheus answered ${status}`}`);
    }
    throw new PrometheusUnavailableError(`Prometheus answered ${status} ${answer.errorType ?? ''}: ${answer.error ?? 'no message'}`);
  }

  private async instant(promql: string, at?: Date): Promise<Fetched> {
    const body = new URLSearchParams({ query: promql });
    if (at) body.set('time', (at.getTime() / 1000).toFixed(3));
    let res: Response;
    try {
      res = await fetch(`${this.endpoint}/api/v1/query`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(this.authorization ? { authorization: this.authorization } : {}),
        },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      return { ok: false, message: `Prometheus at ${this.endpoint} did not answer: ${causeOf(err)}` };
    }
    let answer: ApiAnswer;
    try {
      answer = (await res.json()) as ApiAnswer;
    } catch {
      return { ok: false, message: `Prometheus at ${this.endpoint} answered ${res.status} without a JSON body` };
    }
    return { ok: true, status: res.status, answer };
  }
}

function reduce(data: ApiAnswer['data']): QueryResult {
  const type = data?.resultType;
  if (type === 'scalar') return number((data?.result as [number, string] | undefined)?.[1]);
  if (type === 'vector') {
    const series = (data?.result ?? []) as { value?: [number, string] }[];
    if (series.length === 0) return { kind: 'no-data', message: 'the query returned no series' };
    if (series.length > 1) {
      return { kind: 'error', message: `the query returned ${series.length} series, not one: aggregate it with sum() or max()` };
    }
    return number(series[0]?.value?.[1]);
  }
  return { kind: 'error', message: `the query returned a ${type === 'matrix' ? 'range vector' : (type ?? 'nothing')}, not one sample` };
}

function number(text: string | undefined): QueryResult {
  if (text === undefined) return { kind: 'error', message: 'the sample has no value' };
  const value = text === '+Inf' ? Number.POSITIVE_INFINITY : text === '-Inf' ? Number.NEGATIVE_INFINITY : Number(text);
  // Prometheus writes NaN, +Inf and -Inf as strings; NaN is 0/0, e.g. an error ratio
  // over no requests: there is nothing to judge.
  if (text === 'NaN' || Number.isNaN(value)) return { kind: 'no-data', message: 'the query returned NaN' };
  return { kind: 'value', value };
}

function causeOf(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  const cause = (err as { cause?: { code?: string; message?: string } } | null)?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
