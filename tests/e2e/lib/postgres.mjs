// A throwaway PostgreSQL cluster for the end-to-end tests, as crates/server/tests/common/pg.rs
// makes one for the Rust tests: initdb/pg_ctl from /usr/lib/postgresql/*/bin (or
// HMS_PG_BINDIR), a temporary directory, a free loopback port, a random password; run as the
// `postgres` user when we are root (initdb refuses root). `stop()` stops it and deletes the
// directory; it is synchronous so it can also run from a process 'exit' handler.

import { execFileSync, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './processes.mjs';

/** The newest PostgreSQL with both initdb and pg_ctl. */
function findBindir() {
  const has = (dir) => fs.existsSync(path.join(dir, 'initdb')) && fs.existsSync(path.join(dir, 'pg_ctl'));
  if (process.env.HMS_PG_BINDIR) {
    if (has(process.env.HMS_PG_BINDIR)) return process.env.HMS_PG_BINDIR;
    throw new Error(`HMS_PG_BINDIR=${process.env.HMS_PG_BINDIR} has no initdb and pg_ctl`);
  }
  let versions = [];
  try {
    versions = fs.readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v));
  } catch {
    // not installed
  }
  const found = versions
    .map(Number)
    .sort((a, b) => a - b)
    .map((v) => path.join('/usr/lib/postgresql', String(v), 'bin'))
    .filter(has);
  if (found.length === 0) {
    throw new Error(
      'PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql/*/bin: ' +
        'run `make deps` (apt package postgresql) or set HMS_PG_BINDIR',
    );
  }
  return found[found.length - 1];
}

function postgresIds() {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    throw new Error('running as root, but there is no `postgres` user to run PostgreSQL as (run `make deps`)');
  }
}

const PREFIX = 'hms-pg-e2e-';
const OWNER_FILE = 'owner.pid';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

export class PgCluster {
  constructor() {
    this.bindir = findBindir();
    this.asPostgres = process.getuid?.() === 0;
    // /tmp rather than a TMPDIR inside root's home, which `postgres` could not reach.
    this.root = this.asPostgres ? '/tmp' : os.tmpdir();
    this.reapLeftovers();
    this.base = fs.mkdtempSync(path.join(this.root, PREFIX));
    fs.writeFileSync(path.join(this.base, OWNER_FILE), String(process.pid));
    this.password = crypto.randomBytes(16).toString('hex');
    this.port = 0;
    this.stopped = false;
    if (this.asPostgres) this.ids = postgresIds();
  }

  /** postgres://… for a database of this cluster. */
  url(database = 'postgres') {
    return `postgres://postgres:${this.password}@127.0.0.1:${this.port}/${database}`;
  }

  /** Runs a PostgreSQL program (as `postgres` when root); throws with its output on failure. */
  run(program, args) {
    const bin = path.join(this.bindir, program);
    const [cmd, argv] = this.asPostgres ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
    // Never pipes for pg_ctl start: the server outlives it and would hold them open.
    const r = spawnSync(cmd, argv, { stdio: ['ignore', 'ignore', 'ignore'], timeout: 120_000 });
    return r.status === 0;
  }

  own(file) {
    if (this.asPostgres) fs.chownSync(file, this.ids.uid, this.ids.gid);
  }

  async start() {
    try {
      this.own(this.base);
      const pwfile = path.join(this.base, 'pwfile');
      fs.writeFileSync(pwfile, this.password);
      this.own(pwfile);
      const data = path.join(this.base, 'data');
      const initdb = ['-D', data, '-U', 'postgres', '-A', 'scram-sha-256', '-E', 'UTF8', '--no-locale', '--no-sync', `--pwfile=${pwfile}`];
      if (!this.run('initdb', initdb)) throw new Error(`initdb failed in ${this.base}`);
      const sock = path.join(this.base, 'sock');
      fs.mkdirSync(sock);
      this.own(sock);
      const log = path.join(this.base, 'postgres.log');
      // A free port can be taken between our probe and PostgreSQL's bind: try a few.
      for (let attempt = 0; attempt < 5; attempt += 1) {
        this.port = await freePort();
        const options =
          `-c listen_addresses=127.0.0.1 -p ${this.port} -k ${sock} -c fsync=off ` +
          '-c synchronous_commit=off -c full_page_writes=off';
        if (this.run('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', '-o', options, 'start'])) return this;
      }
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      throw new Error(`pg_ctl start failed; server log:\n${tail}`);
    } catch (e) {
      this.stop();
      throw e;
    }
  }

  /** Stops and deletes clusters of earlier runs that were killed before their cleanup ran
   * (their owner process is gone). */
  reapLeftovers() {
    let names = [];
    try {
      names = fs.readdirSync(this.root).filter((n) => n.startsWith(PREFIX));
    } catch {
      return;
    }
    for (const name of names) {
      const base = path.join(this.root, name);
      let owner = NaN;
      try {
        owner = Number(fs.readFileSync(path.join(base, OWNER_FILE), 'utf8').trim());
      } catch {
        // no owner file: being created right now, or very old; leave it unless old
        const age = Date.now() - (fs.statSync(base, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
        if (age < 600_000) continue;
      }
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) continue;
      this.stopDir(base);
    }
  }

  /** Stops the server (immediately: the data is thrown away) and deletes the directory. */
  stop() {
    if (this.stopped) return;
    this.stopped = true;
    this.stopDir(this.base);
  }

  stopDir(base) {
    const data = path.join(base, 'data');
    if (fs.existsSync(path.join(data, 'postmaster.pid'))) {
      this.run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    }
    fs.rmSync(base, { recursive: true, force: true });
  }
}
