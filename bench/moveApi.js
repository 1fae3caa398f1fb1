// @ts-check
// The control plane as the move benchmarks drive it: its HTTP API, a move's recorded
// events, and one-off SQL on a tenant database.
import { performance } from 'node:perf_hooks';
import pg from 'pg';

/** @typedef {any} Json an API document */

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));

/** @param {string} url @param {string} token */
export function makeApi(url, token) {
  /** @type {(method: string, p: string, body?: unknown) => Promise<Json>} */
  const call = async (method, p, body) => {
    const res = await fetch(`${url}${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return call;
}
/** @typedef {ReturnType<typeof makeApi>} Api */

/** What a move moves, for messages: its org, or its range. @param {Json} move */
export const moveSubject = (move) => (move.range ? `range ${move.range.lo}-${move.range.hi}` : `org ${move.orgId}`);

/**
 * Polls a move until it is in one of `states`; a flipped move also until its exact fence
 * window is on record (it is stored just after the flip).
 * @param {Api} api @param {string} id @param {string[]} states
 */
export async function waitFor(api, id, states, timeoutMs = 30 * 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const move = await api('GET', `/v1/moves/${id}`);
    if (states.includes(move.state) && (move.state !== 'flipped' || typeof move.progress.lastFenceMs === 'number')) return move;
    if (['failed', 'aborted', 'rolled_back'].includes(move.state))
      throw new Error(`move ${id} of ${moveSubject(move)} ended ${move.state}: ${move.error ?? ''}`);
    if (Date.now() > deadline) throw new Error(`move ${id} still ${move.state} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * @param {string} url
 * @param {string} sql
 * @param {unknown[]} [params]
 */
export async function query(url, sql, params = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/**
 * @param {Json} move
 * @param {string} state
 * @param {"first" | "last"} [which]
 */
export function eventAt(move, state, which = 'first') {
  const events = (move.events ?? []).filter((/** @type {Json} */ ev) => ev.state === state);
  const e = which === 'first' ? events[0] : events[events.length - 1];
  if (!e) throw new Error(`move ${move.id} has no ${state} event`);
  return Date.parse(e.at);
}

/** Epoch ms -> performance.now() ms, to compare API times with the writer's records. */
export const toPerf = (/** @type {number} */ epochMs) => epochMs - performance.timeOrigin;
