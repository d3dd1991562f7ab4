// End-to-end test of sync: TWO instances of the real app (each with its own fresh data
// directory, one after the other) against one real sync server (hms-server) on a throwaway
// PostgreSQL cluster, clicked through the Sync and Patients screens.
//
//   make test-e2e          (builds the app and hms-server, then runs the e2e suites)
//   HMS_APP_BIN=/abs/path/to/hms xvfb-run -a node --test tests/e2e/sync.e2e.test.mjs
//
// Environment:
//   HMS_APP_BIN         the app binary (default: $CARGO_TARGET_DIR/debug/hms)
//   HMS_SERVER_BIN      the server binary (default: $CARGO_TARGET_DIR/debug/hms-server)
//   HMS_PG_BINDIR       PostgreSQL's bin directory (default: newest /usr/lib/postgresql/*/bin)
//   HMS_E2E_SYNC_PORT   tauri-driver's port (default 4446, next to app.e2e's 4444/4445)
//   HMS_E2E_KEEP        1 = keep the apps' data directories even when every step passed
//
// Flow: server up (migrate, serve, a tenant, two enrolment codes) → app A: first administrator,
// enrol ("Reception PC"), register a patient, Sync now until Synced with 0 pending → app B
// (another data directory, another administrator): enrol, its first sync pulls the tenant,
// the patient is found with the same name and MRN → B renames the patient and syncs → A
// restarted syncs and shows the new name. Screenshots go to tests/e2e/artifacts/sync/ (with
// the tauri-driver logs, which carry the app's output, the server's log, and the page's HTML
// and the server's device list when a step fails).

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { By } from 'selenium-webdriver';
import { App, WAIT, byTestId } from './lib/app.mjs';
import { setupAdmin as setupAdminIn, signIn as signInTo, stepper } from './lib/flow.mjs';
import { HmsServer } from './lib/hms-server.mjs';
import { PgCluster } from './lib/postgres.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts', 'sync');
const PORT = Number(process.env.HMS_E2E_SYNC_PORT || 4446);
/** A sync (enrolment's first pull, Sync now) on a loaded 2-core machine. */
const SYNC_WAIT = 90_000;

const TENANT = 'Sync E2E Clinic';
const ADMIN_A = { fullName: 'Asha Menon', username: 'admin', password: 'Clinic#2026adm' };
// Accounts sync and usernames are unique in a tenant: B's first administrator is another one.
const ADMIN_B = { fullName: 'Vikram Rao', username: 'admin.b', password: 'Clinic#2026adm' };
const PATIENT = { given: 'Sarita', family: 'Kulkarni', renamed: 'Kulkarni-Desai' };

let pg;
let server;
let serverUrl = '';
const codes = { a: '', b: '' };
const dataDirs = { a: '', b: '' };
/** The app instance running now (one at a time). */
let app = null;
const shots = { n: 0 };
let mrn = '';

// ---------------------------------------------------------------- steps and helpers

const step = stepper(() => app);

async function launch(name) {
  app = new App({ name, dataDir: dataDirs[name], artifacts: ARTIFACTS, port: PORT });
  await app.launch(shots);
  return app;
}

async function endSession() {
  const running = app;
  app = null;
  await running?.quit();
}

const setupAdmin = (admin) => setupAdminIn(app, admin);
const signIn = (admin) => signInTo(app, admin);

async function openSyncScreen() {
  await app.click('nav-sync');
  await app.visible('sync-screen');
}

/** The header's indicator state (data-state) and the Sync screen's pending count. */
async function syncState() {
  const indicator = await app.visible('sync-indicator');
  const pending = await app.driver.findElements(byTestId('sync-pending'));
  return {
    state: await indicator.getAttribute('data-state'),
    // The words as shown (textContent: WebKitWebDriver's getText answers '' for this button).
    label: String(await app.driver.executeScript('return arguments[0].textContent', indicator)).trim(),
    pending: pending.length > 0 ? (await pending[0].getText()).trim() : null,
    error: await lastError(),
  };
}

async function lastError() {
  const els = await app.driver.findElements(byTestId('sync-last-error'));
  return els.length > 0 ? (await els[0].getText()).trim() : null;
}

/** Waits for the indicator to say Synced and the Sync screen to show 0 changes waiting. */
async function waitSynced(timeout = SYNC_WAIT) {
  await app.until(
    syncState,
    (s) => s.state === 'synced' && s.pending === '0' && /synced/i.test(s.label),
    timeout,
    'the indicator should say Synced with 0 pending',
  );
}

/** Presses Sync now (once no sync runs) and waits for its outcome: the success message, or
 * fails with the error the screen shows. */
async function syncNow() {
  await app.visible('sync-overview');
  // Toasts already shown are marked, so only the answer to this press counts.
  await app.driver.executeScript(
    'document.querySelectorAll(\'[data-testid="toast"]\').forEach((t) => t.setAttribute("data-e2e-seen", "1"))',
  );
  await app.click('sync-now', SYNC_WAIT);
  await app.until(
    async () => {
      const error = await app.driver.findElements(byTestId('sync-now-error'));
      if (error.length > 0) return { error: await error[0].getText() };
      const toasts = await app.driver.findElements(By.css('[data-testid="toast"]:not([data-e2e-seen])'));
      for (const t of toasts) {
        return { kind: await t.getAttribute('data-kind'), text: await t.getText() };
      }
      return null;
    },
    (r) => r !== null,
    SYNC_WAIT,
    'Sync now should finish with a message',
  ).then((r) => {
    assert.ok(!r.error && r.kind === 'success', `Sync now should succeed, got ${JSON.stringify(r)}`);
  });
}

/** Enrols this app with a code and waits for the first sync to finish. */
async function enrol(code, deviceName) {
  await openSyncScreen();
  await app.visible('sync-enrol');
  await app.fill('sync-enrol-url', serverUrl);
  await app.fill('sync-enrol-code', code);
  await app.fill('sync-enrol-device-name', deviceName);
  await app.screenshot('enrol-filled');
  await app.click('sync-enrol-submit');
  // Enrolled: the form gives way to the overview (after the first full pull).
  await app.until(
    async () => {
      const error = await app.driver.findElements(byTestId('sync-enrol-error'));
      if (error.length > 0 && (await error[0].isDisplayed())) return { error: await error[0].getText() };
      const overview = await app.driver.findElements(byTestId('sync-overview'));
      return overview.length > 0 && (await overview[0].isDisplayed()) ? { ok: true } : null;
    },
    (r) => r !== null,
    SYNC_WAIT,
    'the enrolment should finish',
  ).then((r) => assert.ok(r.ok, `enrolment failed: ${r.error}`));
  assert.equal(await app.textOf('sync-server'), serverUrl);
  assert.equal(await app.textOf('sync-tenant'), TENANT);
}

/** Finds the patient by name on the Patients screen and opens the page of `mrn`. */
async function openPatient(query) {
  await app.click('nav-patients');
  const box = await app.visible('patient-search');
  await box.clear();
  await box.sendKeys(query);
  const result = await app.until(
    async () => {
      for (const el of await app.driver.findElements(byTestId('patient-result'))) {
        if ((await el.getAttribute('data-mrn')) === mrn) return el;
      }
      return null;
    },
    (el) => el !== null,
    WAIT,
    `searching "${query}" should find ${mrn}`,
  );
  await app.centre(result);
  await result.click();
  // The page shows at once and fills in when the record arrives.
  await app.until(
    async () => (await app.visible('patient-page')).getAttribute('data-mrn'),
    (m) => m === mrn,
    WAIT,
    `the page of ${mrn} should open`,
  );
}

/** The name heading of the open patient page, once it equals `name`. */
async function expectPatientName(name) {
  await app.until(
    // The edit form gives way to the page after a save: no heading yet is '' (wait on).
    async () => {
      const headings = await app.driver.findElements(By.css('[data-testid="patient-page"] h1'));
      return headings.length > 0 ? (await headings[0].getText()).trim() : '';
    },
    (text) => text === name,
    WAIT,
    `the patient page should be headed "${name}"`,
  );
  assert.equal(await app.textOf('patient-mrn'), mrn);
}

// ---------------------------------------------------------------- the flow

/** Last-resort cleanup if the process ends without `after` (a crash, an uncaught error). */
function cleanupNow() {
  app?.killNow();
  if (server?.child) {
    try {
      process.kill(-server.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  pg?.stop();
}

/** Interrupted (Ctrl-C, the runner's timeout): clean up, then end as the signal would. */
function onSignal(signal) {
  cleanupNow();
  process.exit(signal === 'SIGINT' ? 130 : 143);
}

describe('HMS sync end to end: two apps, one server (WebKitGTK through tauri-driver)', { timeout: 20 * 60_000 }, () => {
  before(
    async () => {
      fs.rmSync(ARTIFACTS, { recursive: true, force: true });
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      process.once('exit', cleanupNow);
      for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, onSignal);
      pg = await new PgCluster().start();
      server = new HmsServer(pg.url('postgres'), path.join(ARTIFACTS, 'hms-server.log'));
      server.migrate();
      serverUrl = await server.serve();
      server.createTenant(TENANT);
      codes.a = server.enrolCode(TENANT);
      codes.b = server.enrolCode(TENANT);
      assert.notEqual(codes.a, codes.b, 'two enrolment codes should differ');
      dataDirs.a = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-e2e-sync-a-'));
      dataDirs.b = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-e2e-sync-b-'));
    },
    { timeout: 180_000 },
  );

  after(async () => {
    await endSession();
    if (server) {
      if (step.failed()) {
        try {
          fs.writeFileSync(path.join(ARTIFACTS, 'devices.txt'), server.devices(TENANT));
        } catch {
          // the server or its database may be what failed
        }
      }
      await server.stop();
    }
    pg?.stop();
    process.removeListener('exit', cleanupNow);
    for (const signal of ['SIGINT', 'SIGTERM']) process.removeListener(signal, onSignal);
    for (const dir of Object.values(dataDirs)) {
      if (!dir) continue;
      if (step.failed() || process.env.HMS_E2E_KEEP === '1') console.log(`# e2e data directory kept: ${dir}`);
      else fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  step('A: first run, the administrator is created and the Sync screen offers enrolment', async () => {
    await launch('a');
    await setupAdmin(ADMIN_A);
    await openSyncScreen();
    await app.visible('sync-enrol');
    assert.equal(await (await app.visible('sync-indicator')).getAttribute('data-state'), 'not_enrolled');
    await app.screenshot('not-enrolled');
  });

  step('A: enrols as "Reception PC" with code A; the indicator says Synced', async () => {
    await enrol(codes.a, 'Reception PC');
    await waitSynced();
    const devices = server.devices(TENANT);
    assert.match(devices, /Reception PC/, `the server should list the device:\n${devices}`);
    await app.screenshot('enrolled');
  });

  step('A: registers a patient; Sync now sends it: Synced, 0 pending', async () => {
    await app.click('nav-patients');
    await app.visible('patient-search');
    await app.click('register-patient');
    await app.fill('pf-given_name', PATIENT.given);
    await app.fill('pf-family_name', PATIENT.family);
    await app.tick('pf-dob-unknown');
    await app.fill('pf-age_years', '37');
    await app.fill('pf-phone-0', '98450 22222');
    await app.click('patient-save');
    mrn = await app.textOf('new-mrn');
    assert.match(mrn, /^[0-9A-Z]{4}-\d{6}$/, `the new MRN should be <prefix>-<sequence>, got "${mrn}"`);
    await app.screenshot('patient-registered');

    await openSyncScreen();
    await syncNow();
    await waitSynced();
    await app.screenshot('patient-synced');
  });

  step('B: a second computer (fresh data) gets its own administrator', async () => {
    await endSession();
    await launch('b');
    await setupAdmin(ADMIN_B);
    await app.screenshot('setup-done');
  });

  step('B: enrols with code B; the first sync pulls the tenant', async () => {
    await enrol(codes.b, 'Consulting room PC');
    await waitSynced();
    const devices = server.devices(TENANT);
    assert.match(devices, /2 device\(s\)/, `the server should list both devices:\n${devices}`);
    assert.match(devices, /Consulting room PC/, `the server should list device B:\n${devices}`);
    await app.screenshot('enrolled');
  });

  step('B: the patient registered on A is found, with the same name and MRN', async () => {
    await openPatient(`${PATIENT.family.slice(0, 4)} ${PATIENT.given.slice(0, 3)}`);
    await expectPatientName(`${PATIENT.given} ${PATIENT.family}`);
    await app.screenshot('patient-from-a');
  });

  step('B: renames the patient and syncs it', async () => {
    await app.click('patient-edit');
    await app.fill('pf-family_name', PATIENT.renamed);
    await app.click('patient-save');
    await expectPatientName(`${PATIENT.given} ${PATIENT.renamed}`);
    await openSyncScreen();
    await syncNow();
    await waitSynced();
    await app.screenshot('renamed-synced');
  });

  step('A restarted: its administrator signs in, syncs, and sees the new name', async () => {
    await endSession();
    await launch('a');
    await signIn(ADMIN_A);
    await openSyncScreen();
    await syncNow();
    await waitSynced();
    await openPatient(PATIENT.given);
    await expectPatientName(`${PATIENT.given} ${PATIENT.renamed}`);
    await app.screenshot('renamed-on-a');
  });
});
