// End-to-end test of the one-time encryption of a database from before encryption at rest:
// the real app in WebKitGTK through tauri-driver, started on a clear SQLite database.
//
//   make test-e2e          (builds the app and hms-admin, then runs the e2e suites)
//   HMS_APP_BIN=/abs/path/to/hms HMS_ADMIN_BIN=/abs/path/to/hms-admin \
//     xvfb-run -a node --test tests/e2e/encryption.e2e.test.mjs
//
// Environment: HMS_APP_BIN as for app.e2e; HMS_ADMIN_BIN (default
// $CARGO_TARGET_DIR/debug/hms-admin); HMS_E2E_ENCRYPT_PORT tauri-driver's port (default
// 4456); HMS_E2E_KEEP=1 keeps the data directory.
//
// Flow: `hms-admin create-admin --plain` makes a clear database with its administrator, as a
// version before encryption left it → the app starts on it: the start screen encrypts it (its
// bar may flash by on so small a database: the end state is what is checked) → the sign-in
// screen says the records are now encrypted (the start's last report was the check) → the
// administrator from the clear database signs in → the file no longer starts with SQLite's
// clear header, holds no name in clear, and no half-made copy is left beside it.

import { execFileSync } from 'node:child_process';
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, FIRST_WAIT } from './lib/app.mjs';
import { signIn, stepper } from './lib/flow.mjs';
import { adminBinary } from './lib/processes.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts', 'encryption');
const PORT = Number(process.env.HMS_E2E_ENCRYPT_PORT || 4456);
/** The encryption and the first start, on a loaded 2-core machine. */
const SLOW = 120_000;
const ADMIN = { fullName: 'Nomvula Khumalo', username: 'admin', password: 'Clinic#2026adm' };
/** A clear SQLite database's first 16 bytes. */
const CLEAR_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

let dataDir = '';
let db = '';
let app = null;
const shots = { n: 0 };
const step = stepper(() => app);

const head = (file) => fs.readFileSync(file).subarray(0, 16);

describe('HMS encrypts a database from before at its start (WebKitGTK through tauri-driver)', { timeout: 10 * 60_000 }, () => {
  before(() => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-e2e-encrypt-'));
    db = path.join(dataDir, 'hms.db');
    process.once('exit', () => app?.killNow());
  });

  after(async () => {
    const running = app;
    app = null;
    await running?.quit();
    if (step.failed() || process.env.HMS_E2E_KEEP === '1') console.log(`# e2e data directory kept: ${dataDir}`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  });

  step('a clear database with its administrator, as a version before encryption left it', () => {
    execFileSync(
      adminBinary(),
      ['--data-dir', dataDir, 'create-admin', '--plain', '--username', ADMIN.username, '--full-name', ADMIN.fullName],
      { env: { ...process.env, HMS_ADMIN_PASSWORD: ADMIN.password }, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    assert.deepEqual(head(db), CLEAR_HEADER, 'the database is clear');
    const clear = ['hms.db', 'hms.db-wal'].map((n) => path.join(dataDir, n)).filter((f) => fs.existsSync(f));
    assert.ok(clear.some((f) => fs.readFileSync(f).includes(ADMIN.fullName)), 'its names are readable on the disk');
    assert.ok(!fs.existsSync(path.join(dataDir, 'hms.db.key')), 'no key yet');
  });

  step('the app encrypts it at its start, then the sign-in screen says so', async () => {
    app = new App({ name: 'e', dataDir, artifacts: ARTIFACTS, port: PORT });
    await app.launch(shots);
    // The start screen's bar, or (a small database) already the sign-in screen after it.
    await app.visible('signin-notice', FIRST_WAIT + SLOW);
    assert.match(await app.textOf('signin-notice'), /now encrypted/);
    await app.screenshot('signin-encrypted');
  });

  step('the administrator from the clear database signs in', async () => {
    await signIn(app, ADMIN);
    await app.visible('home-title');
    await app.screenshot('signed-in');
  });

  step('the database on the disk is encrypted, with nothing clear left beside it', async () => {
    assert.notDeepEqual(head(db), CLEAR_HEADER, 'no longer a clear SQLite file');
    for (const file of fs.readdirSync(dataDir).filter((n) => n.startsWith('hms.db'))) {
      const bytes = fs.readFileSync(path.join(dataDir, file));
      assert.ok(!bytes.includes(ADMIN.fullName), `${file} holds no name in clear`);
    }
    assert.ok(!fs.existsSync(`${db}.encrypting`), 'no half-made copy left');
  });
});
