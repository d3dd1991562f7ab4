// The sync server (hms-server, crates/server) for the end-to-end tests: its admin CLI
// (migrate, tenant create, enrol-code) and `serve` on a free loopback port (plain HTTP, which
// the app accepts for loopback). The database URL goes through HMS_DATABASE_URL, not argv.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, pause, portOpen, stopGroup, targetDir } from './processes.mjs';

/** HMS_SERVER_BIN, else $CARGO_TARGET_DIR/debug/hms-server. */
export function serverBinary() {
  const bin = process.env.HMS_SERVER_BIN
    ? path.resolve(process.env.HMS_SERVER_BIN)
    : path.resolve(targetDir(), 'debug', 'hms-server');
  if (!fs.existsSync(bin)) throw new Error(`hms-server not found at ${bin}: run \`cargo build -p hms-server\``);
  return bin;
}

export class HmsServer {
  /** @param {string} databaseUrl @param {string} logFile */
  constructor(databaseUrl, logFile) {
    this.bin = serverBinary();
    this.env = { ...process.env, HMS_DATABASE_URL: databaseUrl, RUST_LOG: process.env.RUST_LOG || 'info,sqlx=warn' };
    this.logFile = logFile;
    this.child = null;
    this.url = '';
  }

  /** Runs an admin command; answers its standard output (throws with stderr on failure). */
  cli(...args) {
    try {
      return execFileSync(this.bin, args, { env: this.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    } catch (e) {
      throw new Error(`hms-server ${args.join(' ')} failed: ${e.stderr || e.message}`);
    }
  }

  migrate() {
    this.cli('migrate');
  }

  createTenant(name) {
    const out = this.cli('tenant', 'create', name);
    const id = out.trim().split(/\s+/).pop();
    if (!id) throw new Error(`tenant create printed no id: ${out}`);
    return id;
  }

  /** A one-time enrolment code (the command prints only the code on stdout). */
  enrolCode(tenant) {
    const code = this.cli('enrol-code', tenant).trim().split('\n')[0].trim();
    if (!code) throw new Error('enrol-code printed no code');
    return code;
  }

  devices(tenant) {
    return this.cli('devices', tenant);
  }

  /** Starts `serve` on a free loopback port; resolves when it accepts connections. */
  async serve(timeout = 30_000) {
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const port = await freePort();
      const log = fs.openSync(this.logFile, 'a');
      const child = spawn(this.bin, ['serve', '--listen', `127.0.0.1:${port}`], {
        env: this.env,
        stdio: ['ignore', log, log],
        detached: true,
      });
      fs.closeSync(log);
      let exited = false;
      child.once('exit', () => {
        exited = true;
      });
      const deadline = Date.now() + timeout;
      while (!exited && Date.now() < deadline) {
        if (await portOpen(port)) {
          this.child = child;
          this.url = `http://127.0.0.1:${port}`;
          return this.url;
        }
        await pause(100);
      }
      await stopGroup(child);
      // Exited: most likely the port was taken meanwhile; try another one.
    }
    throw new Error(`hms-server serve did not start; see ${this.logFile}`);
  }

  async stop() {
    await stopGroup(this.child);
    this.child = null;
  }
}
