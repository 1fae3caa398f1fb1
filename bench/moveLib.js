// @ts-check
// Shared pieces of the move benchmarks: a big org on a source tenant database, the
// mover's table copy, and the `psql | psql` COPY pipe it is compared with. Connection
// URLs carry passwords: they go to psql through PGPASSWORD, never on a command line.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { ANALYZE_MIN_ROWS } from '../control-plane/dist/features/moves/tenant/copyScopeTable.js';
import { percentile } from './lib.js';

/**
 * Insert `rows` expenses and `revenueRows` revenues (partitioned by month), and the
 * parents they reference, for one org.
 * @param {string} url
 * @param {number} orgId
 * @param {number} rows
 * @param {number} [revenueRows]
 */
export async function seedBigOrg(url, orgId, rows, revenueRows = 0) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('INSERT INTO organizations (org_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [orgId, `bench ${orgId}`]);
    await client.query(
      `INSERT INTO properties (org_id, property_id, name) SELECT $1::bigint, i, 'property ' || i FROM generate_series(1, 10) i ON CONFLICT DO NOTHING`,
      [orgId],
    );
    await client.query(
      `INSERT INTO expenses (org_id, expense_id, property_id, amount_cents, category, spent_on)
       SELECT $1::bigint, i, 1 + i % 10, (i::bigint * 7919) % 100000, 'category ' || (i % 17), DATE '2025-01-01' + (i % 700)
         FROM generate_series(1, $2::int) i`,
      [orgId, rows],
    );
    if (revenueRows > 0) {
      await client.query(
        `INSERT INTO revenues (org_id, revenue_id, property_id, amount_cents, booked_on)
         SELECT $1::bigint, i, 1 + i % 10, 1000 + i % 500000, DATE '2025-01-01' + (i % 1095)
           FROM generate_series(1, $2::int) i`,
        [orgId, revenueRows],
      );
    }
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

/** Remove every row of a table on a database (between rounds). */
export async function truncate(/** @type {string} */ url, /** @type {string} */ table) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`TRUNCATE ${table}`);
  } finally {
    await client.end();
  }
}

/** VACUUM ANALYZE a whole database. */
export async function vacuum(/** @type {string} */ url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

/** A URL without its password, and the password for PGPASSWORD. */
function splitSecret(/** @type {string} */ url) {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { url: u.toString(), password };
}

/**
 * `psql -c "COPY (SELECT ...) TO STDOUT" | psql -c "COPY t FROM STDIN"`, the target
 * session in replica role like the mover's (no FK checks, no capture trigger).
 * Returns elapsed ms. The rows are one org's (`orgId`) or every org's of a span
 * (`range`, `org_id BETWEEN lo AND hi`, as a range move copies). `format` is 'text'
 * (psql's default) or 'binary'; `targetTable` (default: `table`) is where the rows land.
 * Passwords go through PGPASSWORD, never argv.
 * @param {{ sourceUrl: string, targetUrl: string, table: string, orgId?: number, range?: { lo: number, hi: number }, format?: 'text' | 'binary', targetTable?: string }} options
 */
export async function psqlPipe({ sourceUrl, targetUrl, table, orgId, range, format = 'text', targetTable = table }) {
  const src = splitSecret(sourceUrl);
  const dst = splitSecret(targetUrl);
  const opts = format === 'binary' ? ' (FORMAT binary)' : '';
  const where = orgsWhere(orgId, range);
  const started = performance.now();
  await new Promise((resolve, reject) => {
    const out = spawn(
      'psql',
      [src.url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `COPY (SELECT * FROM ${table} WHERE ${where}) TO STDOUT${opts}`],
      {
        env: { ...process.env, PGPASSWORD: src.password },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const into = spawn('psql', [dst.url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `COPY ${targetTable} FROM STDIN${opts}`], {
      env: { ...process.env, PGPASSWORD: dst.password, PGOPTIONS: '-c session_replication_role=replica' },
      stdio: ['pipe', 'ignore', 'inherit'],
    });
    out.stdout.pipe(into.stdin);
    let exited = 0;
    const done = (/** @type {string} */ who) => (/** @type {number | null} */ code) => {
      if (code !== 0) reject(new Error(`${who} psql exited with ${code}`));
      else if (++exited === 2) resolve(undefined);
    };
    out.on('exit', done('source'));
    into.on('exit', done('target'));
    out.on('error', reject);
    into.on('error', reject);
  });
  return performance.now() - started;
}

/**
 * The mover's copyTable of one table (startCapture first). Returns { ms, rows, bytes }.
 * @param {import('../control-plane/dist/features/moves/tenant/TenantMover.js').TenantMover} mover
 * @param {string} tableName
 */
export async function moverCopy(mover, tableName) {
  const table = (await mover.tables()).find((t) => t.name === tableName);
  if (!table) throw new Error(`no tenant table ${tableName}`);
  const started = performance.now();
  const result = await mover.copyTable(table, () => {});
  return { ms: performance.now() - started, rows: result.rows, bytes: result.bytes };
}

/** The tenant tables, parents first: the order psql pipes them in, as the mover copies them. */
export const TENANT_TABLES = ['organizations', 'properties', 'users', 'staff', 'guests', 'expenses', 'revenues'];

/** @typedef {{ orgId: number, range?: undefined } | { range: { lo: number, hi: number }, orgId?: undefined }} OrgRows one org's rows, or a span's */

/**
 * Removes rows of every tenant table, children first (replica role: no triggers), then
 * VACUUM ANALYZE.
 * @param {string} url
 * @param {OrgRows} rows
 */
export async function dropRows(url, rows) {
  const where = orgsWhere(rows.orgId, rows.range);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET session_replication_role = replica');
    for (const t of [...TENANT_TABLES].reverse()) await client.query(`DELETE FROM ${t} WHERE ${where}`);
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

/**
 * psql COPY piped into psql COPY, table by table, into the target's own tenant tables
 * (same shapes as the mover's: partitioned `revenues`, same indexes), then ANALYZE each
 * table the mover would (ANALYZE_MIN_ROWS rows or more copied); timed together. The
 * rows are removed again afterwards.
 * @param {string} sourceUrl @param {string} targetUrl @param {OrgRows} rows @param {'text' | 'binary'} format
 */
export async function psqlBaseline(sourceUrl, targetUrl, rows, format) {
  const where = orgsWhere(rows.orgId, rows.range);
  const target = new pg.Client({ connectionString: targetUrl });
  await target.connect();
  try {
    /** @type {Set<string>} */
    const analyzed = new Set();
    const source = new pg.Client({ connectionString: sourceUrl });
    await source.connect();
    try {
      for (const table of TENANT_TABLES) {
        const { rows: n } = await source.query(`SELECT count(*) AS n FROM ${table} WHERE ${where}`);
        if (Number(n[0].n) >= ANALYZE_MIN_ROWS) analyzed.add(table);
      }
    } finally {
      await source.end();
    }
    const t0 = performance.now();
    for (const table of TENANT_TABLES) {
      await psqlPipe({ sourceUrl, targetUrl, table, ...rows, format });
      if (analyzed.has(table)) await target.query(`ANALYZE ${table}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    let copied = 0;
    for (const t of TENANT_TABLES) copied += Number((await target.query(`SELECT count(*) AS n FROM ${t} WHERE ${where}`)).rows[0].n);
    return { rows: copied, seconds };
  } finally {
    await target.end();
    await dropRows(targetUrl, rows);
  }
}

/**
 * The WHERE clause of one org or of a span of org ids; the values are checked integers,
 * since they are spliced into psql's command line.
 * @param {number | undefined} orgId
 * @param {{ lo: number, hi: number } | undefined} range
 */
function orgsWhere(orgId, range) {
  const int = (/** @type {unknown} */ x) => Number.isSafeInteger(x);
  if (orgId !== undefined && range === undefined && int(orgId)) return `org_id = ${orgId}`;
  if (orgId === undefined && range !== undefined && int(range.lo) && int(range.hi)) return `org_id BETWEEN ${range.lo} AND ${range.hi}`;
  throw new Error(`psqlPipe takes an integer orgId or a range {lo, hi} of integers, not ${JSON.stringify({ orgId, range })}`);
}

/** True when a `psql` client is on the PATH. */
export async function havePsql() {
  return new Promise((resolve) => {
    const p = spawn('psql', ['--version'], { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('exit', (code) => resolve(code === 0));
  });
}

/**
 * @typedef {object} WriteRecord
 * @property {number} dueAt when the schedule said the write should start (performance.now() ms)
 * @property {number} endAt when it was acknowledged, or given up
 * @property {boolean} ok acknowledged
 * @property {boolean} tx a multi-statement transaction (else one statement)
 * @property {number} attempts
 * @property {string} [error] why it failed
 */

/**
 * An open-loop writer: writes fall due on a fixed schedule (`ratePerSec`), whatever
 * happened to the ones before, and each write's latency is its acknowledgement time
 * minus its due time (a write held up by a fence makes the ones due after it late too,
 * as users would feel it: no coordinated omission). Each write goes to one org: `orgId`
 * (rows 1..`idMax`), or a random one of `orgs` per write (writes spread over a range's
 * orgs). Every `txEvery`-th write is a transaction of two UPDATEs of that org (BEGIN;
 * UPDATE; UPDATE; COMMIT), the rest one UPDATE.
 * A write refused with OPF02 (moved) asks `onMoved(orgId)` where the org lives now and
 * tries again at `ownerUrl(orgId)` (after a short backoff while the answer is still the
 * old cluster); with OPF01 (fenced) it retries after a short backoff; as the runtime
 * does. A write not acknowledged `giveUpMs` after it fell due, or failing otherwise,
 * is counted as failed; a write that could not even be sent because `maxInFlight` were
 * outstanding is counted as dropped. Nothing is left out of the counters.
 * @param {{
 *   ownerUrl: (orgId: number) => string,
 *   onMoved?: (orgId: number) => Promise<void>,
 *   orgId?: number,
 *   idMax?: number,
 *   orgs?: ReadonlyArray<{ orgId: number, idMax: number }>,
 *   ratePerSec: number,
 *   table?: string,
 *   idColumn?: string,
 *   setClause?: string,
 *   txEvery?: number,
 *   giveUpMs?: number,
 *   maxInFlight?: number,
 *   poolSize?: number,
 * }} options
 */
export function startOpenLoopWriter({
  ownerUrl,
  onMoved = async () => {},
  orgId,
  idMax,
  orgs,
  ratePerSec,
  table = 'expenses',
  idColumn = 'expense_id',
  setClause = 'amount_cents = amount_cents + 1',
  txEvery = 4,
  giveUpMs = 5000,
  maxInFlight = 4000,
  poolSize = 16,
}) {
  const targets = orgs ?? (orgId !== undefined && idMax !== undefined ? [{ orgId, idMax }] : []);
  if (targets.length === 0) throw new Error('startOpenLoopWriter needs orgId and idMax, or a non-empty orgs');
  /** @type {Map<string, pg.Pool>} */
  const pools = new Map();
  const poolFor = (/** @type {string} */ url) => {
    let p = pools.get(url);
    if (!p) {
      p = new pg.Pool({ connectionString: url, max: poolSize });
      p.on('error', () => {});
      pools.set(url, p);
    }
    return p;
  };
  /** @type {WriteRecord[]} */
  const records = [];
  let dropped = 0;
  let inFlight = 0;
  let n = 0;
  const sql = `UPDATE ${table} SET ${setClause} WHERE org_id = $1 AND ${idColumn} = $2`;
  const pickTarget = () => /** @type {{ orgId: number, idMax: number }} */ (targets[Math.floor(Math.random() * targets.length)]);

  /** @param {pg.Pool} pool @param {{ orgId: number, idMax: number }} target @param {boolean} tx */
  async function attempt(pool, { orgId, idMax }, tx) {
    const rowId = () => 1 + Math.floor(Math.random() * idMax);
    if (!tx) {
      await pool.query(sql, [orgId, rowId()]);
      return;
    }
    const client = await pool.connect();
    try {
      // Two rows in key order, as applications do: in opposite orders two such
      // transactions deadlock, and the second waits deadlock_timeout (1 s) holding its
      // share of the fence.
      const [a, b] = [rowId(), rowId()].sort((x, y) => x - y);
      await client.query('BEGIN');
      await client.query(sql, [orgId, a]);
      await client.query(sql, [orgId, b]);
      await client.query('COMMIT');
      client.release();
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      throw err;
    }
  }

  /** @param {number} dueAt @param {boolean} tx */
  async function write(dueAt, tx) {
    /** @type {WriteRecord} */
    const rec = { dueAt, endAt: 0, ok: false, tx, attempts: 0 };
    const target = pickTarget();
    let backoffMs = 2;
    for (;;) {
      rec.attempts++;
      try {
        await attempt(poolFor(ownerUrl(target.orgId)), target, tx);
        rec.ok = true;
        break;
      } catch (err) {
        const code = /** @type {{ code?: string }} */ (err).code;
        if (performance.now() - dueAt > giveUpMs) {
          rec.error = `gave up after ${giveUpMs} ms: ${code ?? ''} ${/** @type {Error} */ (err).message}`;
          break;
        }
        if (code === 'OPF02') {
          // The source says moved a moment before the map does (the flip commits after
          // both sides are marked): ask again, then back off if the answer is the same.
          const before = ownerUrl(target.orgId);
          await onMoved(target.orgId);
          if (ownerUrl(target.orgId) === before) {
            await new Promise((r) => setTimeout(r, backoffMs));
            backoffMs = Math.min(50, backoffMs * 2);
          }
        } else if (code === 'OPF01') {
          await new Promise((r) => setTimeout(r, backoffMs));
          backoffMs = Math.min(50, backoffMs * 2);
        } else {
          rec.error = `${code ?? ''} ${/** @type {Error} */ (err).message}`;
          break;
        }
      }
    }
    rec.endAt = performance.now();
    records.push(rec);
  }

  const intervalMs = 1000 / ratePerSec;
  const startedAt = performance.now();
  let running = true;
  // A tick sends every write that fell due since the last one: a late tick sends them
  // late, and their latency counts from when they were due.
  const timer = setInterval(() => {
    const now = performance.now();
    for (;;) {
      const dueAt = startedAt + n * intervalMs;
      if (dueAt > now || !running) break;
      const tx = txEvery > 0 && n % txEvery === txEvery - 1;
      n++;
      if (inFlight >= maxInFlight) {
        dropped++;
        continue;
      }
      inFlight++;
      write(dueAt, tx).finally(() => inFlight--);
    }
  }, 2);
  return {
    records,
    /** Writes due so far. */
    get due() {
      return n;
    },
    /** Stops scheduling, waits for the outstanding writes, closes the pools. */
    async stop() {
      running = false;
      clearInterval(timer);
      while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
      await Promise.all([...pools.values()].map((p) => p.end()));
      return { due: n, dropped, records };
    },
  };
}

/**
 * The writers' view of one cutover (`startAt`..`endAt`, every attempt included): the
 * longest any write in flight during it waited (ack, or giving up, minus due time), and
 * the writes that failed.
 * @param {readonly WriteRecord[]} records
 * @param {number} startAt
 * @param {number} endAt
 */
export function writeBlock(records, startAt, endAt) {
  let maxWaitMs = 0;
  let writes = 0;
  let failed = 0;
  for (const r of records) {
    if (r.dueAt > endAt || r.endAt < startAt) continue;
    writes++;
    if (!r.ok) failed++;
    maxWaitMs = Math.max(maxWaitMs, r.endAt - r.dueAt);
  }
  return { maxWaitMs, writes, failed };
}

/** Latency summary (ms) of acknowledged writes, and the counts. @param {readonly WriteRecord[]} records */
export function latencySummary(records) {
  const acked = records.filter((r) => r.ok).map((r) => r.endAt - r.dueAt);
  const r1 = (/** @type {number} */ x) => Number(x.toFixed(1));
  return {
    firstError: records.find((r) => !r.ok)?.error ?? null,
    acked: acked.length,
    failed: records.length - acked.length,
    transactions: records.filter((r) => r.tx).length,
    p50: r1(percentile(acked, 50)),
    p99: r1(percentile(acked, 99)),
    max: r1(acked.length ? acked.reduce((m, x) => Math.max(m, x), 0) : Number.NaN),
  };
}
