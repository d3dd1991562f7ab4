// Process helpers shared by the end-to-end suites: binaries, free ports, process groups.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The Cargo target directory, defaulting to ~/.cache/hms-target as in the Makefile. */
export function targetDir() {
  return process.env.CARGO_TARGET_DIR || path.join(os.homedir(), '.cache', 'hms-target');
}

/** The app binary: HMS_APP_BIN, else $CARGO_TARGET_DIR/debug/hms. */
export function appBinary() {
  if (process.env.HMS_APP_BIN) return path.resolve(process.env.HMS_APP_BIN);
  return path.resolve(targetDir(), 'debug', 'hms');
}

/** hms-admin: HMS_ADMIN_BIN, else $CARGO_TARGET_DIR/debug/hms-admin (`cargo build -p hms-cli`). */
export function adminBinary() {
  const bin = process.env.HMS_ADMIN_BIN
    ? path.resolve(process.env.HMS_ADMIN_BIN)
    : path.resolve(targetDir(), 'debug', 'hms-admin');
  if (!fs.existsSync(bin)) throw new Error(`hms-admin not found at ${bin}: run \`cargo build -p hms-cli\``);
  return bin;
}

/** The first executable `name` on PATH (or in `extraDirs`), or null. */
export function onPath(name, extraDirs = []) {
  const dirs = [...(process.env.PATH || '').split(path.delimiter), ...extraDirs];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** Whether something accepts connections on 127.0.0.1:port. */
export function portOpen(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A loopback port nothing listens on right now (another process may take it before us:
 * callers that bind it later retry on a new one). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Ends a process group we started (detached: true), SIGTERM then SIGKILL after 5 s. */
export async function stopGroup(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const done = await Promise.race([exited.then(() => true), pause(5_000).then(() => false)]);
  if (!done) {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Kills a process group at once, synchronously (for process 'exit' handlers). */
export function killGroupNow(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
