// End-to-end test of restoring a backup from inside the app: the real app in WebKitGTK
// through tauri-driver, with HMS_RESTART=exit (the app closes where it would start itself
// again; this test starts it again, as a phone's user would open it).
//
//   make test-e2e          (builds the app, then runs the e2e suites one after the other)
//   HMS_APP_BIN=/abs/path/to/hms xvfb-run -a node --test tests/e2e/restore.e2e.test.mjs
//
// Environment: HMS_APP_BIN as for app.e2e; HMS_E2E_RESTORE_PORT tauri-driver's port (default
// 4448); HMS_E2E_KEEP=1 keeps the data directory.
//
// Flow: first administrator → registers Meena → Back up now → registers Lakshmi → the
// backup's preview → Restore → confirm → "starting again", and the app closes → started
// again: the sign-in screen says the backup was restored → Meena is found, Lakshmi is not.
// Then another computer's backup: a second data directory (the old computer) registers Zanele,
// backs up and shows its recovery key; a third (the new computer, just set up) finds that
// backup in its folder, is asked for the recovery key, refuses a wrong one on the field, opens
// it with the right one (what it holds: 1 patient), restores it and starts again: signed in as
// the old computer's administrator, Zanele is there.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from './lib/app.mjs';
import { setupAdmin, signIn, stepper } from './lib/flow.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts', 'restore');
const PORT = Number(process.env.HMS_E2E_RESTORE_PORT || 4448);
/** A backup, or the restart's restore, on a loaded 2-core machine. */
const SLOW = 120_000;
const ADMIN = { fullName: 'Asha Menon', username: 'admin', password: 'Clinic#2026adm' };

let dataDir = '';
/** The old computer's data directory, and the new one's. */
let oldDir = '';
let newDir = '';
let recoveryKey = '';
const OLD_ADMIN = { fullName: 'Bongani Zulu', username: 'old.admin', password: 'Oldpc#2026adm' };
const NEW_ADMIN = { fullName: 'Chipo Moyo', username: 'new.admin', password: 'Newpc#2026adm' };
let app = null;
const shots = { n: 0 };
const step = stepper(() => app);

async function launch(dir = dataDir, name = 'r') {
  app = new App({ name, dataDir: dir, artifacts: ARTIFACTS, port: PORT });
  await app.launch(shots);
}

function copyDir(from, to) {
  fs.cpSync(from, to, { recursive: true });
}

/** The backups listed, once `n` of them are. */
async function listed(n) {
  await app.until(
    async () => (await app.driver.findElements({ css: '[data-testid="backup-row"]' })).length,
    (count) => count === n,
    SLOW,
    `${n} backup(s) should be listed`,
  );
}

async function endSession() {
  const running = app;
  app = null;
  await running?.quit();
}

async function register(given, family, phone) {
  await app.click('nav-patients');
  await app.visible('patient-search');
  await app.click('register-patient');
  await app.fill('pf-given_name', given);
  await app.fill('pf-family_name', family);
  await app.tick('pf-dob-unknown');
  await app.fill('pf-age_years', '52');
  await app.fill('pf-phone-0', phone);
  await app.click('patient-save');
  await app.visible('new-mrn');
}

/** Searches the register: true when a patient is listed, false when "none" is shown. */
async function found(query) {
  await app.click('nav-patients');
  await app.fill('patient-search', query);
  return app.until(
    async () => {
      const none = await app.driver.findElements({ css: '[data-testid="patient-search-none"]' });
      if (none.length > 0 && (await none[0].isDisplayed())) return 'none';
      // Only results for this query (the last query's may still be on the screen).
      for (const row of await app.driver.findElements({ css: '[data-testid="patient-result"]' })) {
        if ((await row.getText()).toLowerCase().includes(query.toLowerCase())) return 'found';
      }
      return null;
    },
    (r) => r !== null,
    20_000,
    `the search for "${query}" should answer`,
  ).then((r) => r === 'found');
}

describe('HMS restore from the app (WebKitGTK through tauri-driver)', { timeout: 15 * 60_000 }, () => {
  before(() => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-e2e-restore-'));
    oldDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-e2e-restore-old-'));
    newDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-e2e-restore-new-'));
    process.env.HMS_RESTART = 'exit';
    process.once('exit', () => app?.killNow());
  });

  after(async () => {
    await endSession();
    const dirs = [dataDir, oldDir, newDir];
    if (step.failed() || process.env.HMS_E2E_KEEP === '1') console.log(`# e2e data directories kept: ${dirs.join(' ')}`);
    else for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  step('the administrator registers Meena and backs up', async () => {
    await launch();
    await setupAdmin(app, ADMIN);
    await register('Meena', 'Iyer', '98450 11111');
    await app.click('nav-backups');
    await app.visible('backups-screen');
    await app.click('backups-now');
    await app.until(
      async () => (await app.driver.findElements({ css: '[data-testid="backup-row"][data-verified="ok"]' })).length,
      (n) => n === 1,
      SLOW,
      'the backup should be listed, verified',
    );
    await app.screenshot('backed-up');
  });

  step('Lakshmi is registered after the backup', async () => {
    await register('Lakshmi', 'Rao', '98450 22222');
    assert.ok(await found('Lakshmi'));
  });

  step('restoring the backup asks first, then HMS closes to start again', async () => {
    await app.click('nav-backups');
    await app.click('backup-preview');
    await app.visible('backup-preview-dialog');
    await app.click('backup-restore-start');
    await app.visible('backup-restore-confirm-text');
    await app.screenshot('restore-confirm');
    await app.click('backup-restore-confirm');
    await app.visible('backup-restore-restarting', SLOW);
    await app.screenshot('restore-restarting');
    await endSession();
  });

  step('started again: the sign-in screen says the backup was restored; Meena is there, Lakshmi is not', async () => {
    await launch();
    await app.visible('signin-restored', SLOW);
    await app.screenshot('signin-restored');
    await signIn(app, ADMIN);
    assert.ok(await found('Meena'), 'registered before the backup');
    assert.ok(!(await found('Lakshmi')), 'registered after the backup: gone with the restore');
    await app.screenshot('after-restore');
  });

  step('another computer registers Zanele, backs up and gives its recovery key', async () => {
    await endSession();
    await launch(oldDir, 'old');
    await setupAdmin(app, OLD_ADMIN);
    await register('Zanele', 'Dube', '98450 33333');
    await app.click('nav-backups');
    await app.visible('backups-screen');
    await app.click('backups-now');
    await app.until(
      async () => (await app.driver.findElements({ css: '[data-testid="backup-row"][data-verified="ok"]' })).length,
      (n) => n === 1,
      SLOW,
      'the old computer\'s backup should be listed, verified',
    );
    await app.fill('recovery-key-password', OLD_ADMIN.password);
    await app.click('recovery-key-show');
    await app.visible('recovery-key-value');
    recoveryKey = (await app.textOf('recovery-key-value')).trim();
    assert.match(recoveryKey, /^([0-9A-F]{4}-){15}[0-9A-F]{4}$/);
    await endSession();
  });

  step('the new computer is asked for that recovery key, refuses a wrong one and shows the backup with the right one', async () => {
    await launch(newDir, 'new');
    await setupAdmin(app, NEW_ADMIN);
    await app.click('nav-backups');
    await app.visible('backups-screen');
    // The old computer's backup, copied into this computer's backup folder (a USB drive's copy).
    const from = path.join(oldDir, 'backups');
    const name = fs.readdirSync(from).find((n) => n.startsWith('hms-backup-'));
    assert.ok(name, 'the old computer wrote a backup folder');
    copyDir(path.join(from, name), path.join(newDir, 'backups', name));
    await app.click('nav-home');
    await app.click('nav-backups');
    await listed(1);
    await app.click('backup-preview');
    await app.visible('backup-needs-recovery-key');
    await app.screenshot('foreign-asks-key');
    // Another key (well formed, wrong): refused on the field, nothing shown.
    const wrong = recoveryKey.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    await app.fill('backup-recovery-key', wrong);
    await app.click('backup-recovery-key-open');
    await app.until(
      async () => {
        const errors = await app.driver.findElements({ css: '.has-error .error' });
        return errors.length > 0 ? errors[0].getText() : '';
      },
      (text) => /not the recovery key/.test(text),
      SLOW,
      'a wrong recovery key should be refused on its field',
    );
    assert.equal(
      await app.driver.findElement({ css: '[data-testid="backup-recovery-key"]' }).getAttribute('aria-invalid'),
      'true',
    );
    assert.equal((await app.driver.findElements({ css: '[data-testid="backup-restore-start"]' })).length, 0, 'nothing offered yet');
    await app.screenshot('foreign-wrong-key');
    // The right one as a person may type it: lower case, spaces.
    await app.fill('backup-recovery-key', recoveryKey.toLowerCase().replaceAll('-', ' '));
    await app.click('backup-recovery-key-open');
    await app.visible('backup-opened-with-key', SLOW);
    const dialog = await app.driver.findElement({ css: '[data-testid="backup-preview-dialog"]' }).getText();
    assert.match(dialog, /patients 1 /, dialog);
    await app.screenshot('foreign-opened');
    await app.click('backup-restore-start');
    await app.click('backup-restore-confirm');
    await app.visible('backup-restore-restarting', SLOW);
    await endSession();
  });

  step('started again: the old computer\'s records, re-encrypted here; Zanele is there', async () => {
    await launch(newDir, 'new');
    await app.visible('signin-restored', SLOW);
    await signIn(app, OLD_ADMIN);
    assert.ok(await found('Zanele'), 'the old computer\'s patient');
    await app.screenshot('foreign-restored');
  });
});
