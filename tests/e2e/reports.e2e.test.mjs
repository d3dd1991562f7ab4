// End-to-end test of Home's dashboard and the report behind a tile: the real app in WebKitGTK
// through tauri-driver.
//
//   HMS_APP_BIN=/abs/path/to/hms xvfb-run -a node --test tests/e2e/reports.e2e.test.mjs
//
// Environment: HMS_APP_BIN as for app.e2e; HMS_E2E_REPORTS_PORT tauri-driver's port (default
// 4452); HMS_E2E_KEEP=1 keeps the data directory.
//
// Flow: first administrator → Home shows the administrator's dashboard (today's money, nothing
// received yet) → today's money tile opens Reports on "Collections by payment mode" for today.
// (Still to add: a payment taken, then today's collection on Home; the revenue report's range
// changed and its PDF exported.)

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from './lib/app.mjs';
import { setupAdmin, stepper } from './lib/flow.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts', 'reports');
const PORT = Number(process.env.HMS_E2E_REPORTS_PORT || 4452);
const WAIT = 30_000;
const ADMIN = { fullName: 'Asha Menon', username: 'admin', password: 'Clinic#2026adm' };

let dataDir = '';
let app = null;
const shots = { n: 0 };
const step = stepper(() => app);

describe('HMS dashboards and reports (WebKitGTK through tauri-driver)', { timeout: 10 * 60_000 }, () => {
  before(() => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-e2e-reports-'));
    process.once('exit', () => app?.killNow());
  });

  after(async () => {
    const running = app;
    app = null;
    await running?.quit();
    if (step.failed() || process.env.HMS_E2E_KEEP === '1') console.log(`# e2e data directory kept: ${dataDir}`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  });

  step("Home shows the administrator's dashboard", async () => {
    app = new App({ name: 'r', dataDir, artifacts: ARTIFACTS, port: PORT });
    await app.launch(shots);
    await setupAdmin(app, ADMIN);
    await app.visible('dashboard');
    await app.visible('dash-money-today');
    const received = await app.until(() => app.textOf('dash-money-today-received'), (s) => /0[.,]00/.test(s), WAIT, 'nothing received yet');
    assert.match(received, /0[.,]00/);
    await app.visible('dash-receivables');
    await app.visible('dash-attendance');
    await app.screenshot('home-dashboard');
  });

  step("today's money opens the collections report for today", async () => {
    await app.click('dash-money-today-open');
    const pick = await app.visible('report-pick');
    await app.until(() => pick.getAttribute('value'), (v) => v === 'revenue_by_mode', WAIT, 'the collections report');
    const preset = await app.visible('report-preset');
    await app.until(() => preset.getAttribute('value'), (v) => v === 'today', WAIT, 'the period: today');
  });
});
