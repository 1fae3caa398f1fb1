// Shared pieces of the move benchmarks: a big org on a source tenant database, the
// mover's table copy, and the `psql | psql` COPY pipe it is compared with. Connection
// URLs carry passwords: they go to psql through PGPASSWORD, never on a command line.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

/** Insert `rows` expenses (and the parents they reference) for one org. */
export async function seedBigOrg(url, orgId, rows) {
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
    await client.query('VACUUM ANALYZE expenses');
  } finally {
    await client.end();
  }
}

/** Remove every row of a table on a database (between rounds). */
export async function truncate(url, table) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`TRUNCATE ${table}`);
  } finally {
    await client.end();
  }
}

/** VACUUM ANALYZE a whole database. */
export async function vacuum(url) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE');
  } finally {
    await client.end();
  }
}

/** A URL without its password, and the password for PGPASSWORD. */
function splitSecret(url) {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { url: u.toString(), password };
}

/**
 * `psql -c "COPY (SELECT ...) TO STDOUT" | psql -c "COPY t FROM STDIN"`, the target
 * session in replica role like the mover's (no FK checks, no capture trigger).
 * Returns elapsed ms. `format` is 'text' (psql's default) or 'binary'; `targetTable`
 * (default: `table`) is where the rows land. Passwords go through PGPASSWORD, never argv.
 */
export async function psqlPipe({ sourceUrl, targetUrl, table, orgId, format = 'text', targetTable = table }) {
  const src = splitSecret(sourceUrl);
  const dst = splitSecret(targetUrl);
  const opts = format === 'binary' ? ' (FORMAT binary)' : '';
  const started = performance.now();
  await new Promise((resolve, reject) => {
    const out = spawn(
      'psql',
      [src.url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `COPY (SELECT * FROM ${table} WHERE org_id = ${orgId}) TO STDOUT${opts}`],
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
    const done = (who) => (code) => {
      if (code !== 0) reject(new Error(`${who} psql exited with ${code}`));
      else if (++exited === 2) resolve();
    };
    out.on('exit', done('source'));
    into.on('exit', done('target'));
    out.on('error', reject);
    into.on('error', reject);
  });
  return performance.now() - started;
}

/** The mover's copyTable of one table (startCapture first). Returns { ms, rows, bytes }. */
export async function moverCopy(mover, tableName) {
  const table = (await mover.tables()).find((t) => t.name === tableName);
  if (!table) throw new Error(`no tenant table ${tableName}`);
  const started = performance.now();
  const result = await mover.copyTable(table, () => {});
  return { ms: performance.now() - started, rows: result.rows, bytes: result.bytes };
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
 * Writers at a steady total rate against whichever cluster `ownerUrl()` names now:
 * each write updates one random row of `table` (ids 1..idMax) of the org. A write
 * refused with OPF02/OPF01 asks again and retries; its latency counts from the first
 * attempt, as a user would see it. `stop()` returns { acked, errors, latenciesMs }.
 */
export function startWriters({ ownerUrl, orgId, ratePerSec, table = 'expenses', idColumn = 'expense_id', idMax, writers = 8 }) {
  const clients = new Map();
  const clientFor = async (url) => {
    let c = clients.get(url);
    if (!c) {
      c = new pg.Pool({ connectionString: url, max: writers });
      clients.set(url, c);
    }
    return c;
  };
  const latenciesMs = [];
  let acked = 0;
  const errors = [];
  let running = true;
  const intervalMs = (1000 * writers) / ratePerSec;
  const loop = async (w) => {
    let next = performance.now() + (intervalMs * w) / writers;
    while (running) {
      const wait = next - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      next += intervalMs;
      const started = performance.now();
      const id = 1 + Math.floor(Math.random() * idMax);
      for (let attempt = 0; ; attempt++) {
        try {
          const pool = await clientFor(ownerUrl());
          await pool.query(`UPDATE ${table} SET amount_cents = amount_cents + 1 WHERE org_id = $1 AND ${idColumn} = $2`, [orgId, id]);
          acked += 1;
          latenciesMs.push(performance.now() - started);
          break;
        } catch (err) {
          if ((err.code === 'OPF02' || err.code === 'OPF01') && attempt < 1000) {
            await new Promise((r) => setTimeout(r, 2));
            continue;
          }
          errors.push(`${err.code ?? ''} ${err.message}`);
          break;
        }
      }
    }
  };
  const loops = Array.from({ length: writers }, (_, w) => loop(w));
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      await Promise.all([...clients.values()].map((c) => c.end()));
      return { acked, errors, latenciesMs };
    },
  };
}

export function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1))] ?? Number.NaN;
}
