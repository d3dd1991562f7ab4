// End-to-end test of Home's dashboard and the report behind a tile: the real app in WebKitGTK
// through tauri-driver.
//
//   HMS_APP_BIN=/abs/path/to/hms xvfb-run -a node --test tests/e2e/reports.e2e.test.mjs
//
// Environment: HMS_APP_BIN as for app.e2e; HMS_E2E_REPORTS_PORT tauri-driver's port (default
// 4452); HMS_E2E_KEEP=1 keeps the data directory.
//
// Flow: first administrator → Home shows the administrator's dashboard (today's money, nothing
// received yet) → today's money tile opens Reports on "Collections by payment mode" for today →
// a service in the tariff, a patient, a bill finalised and paid in full → Home's collection
// today has grown by exactly that payment → "Revenue by service" over a custom range (the last
// seven days) → "Patients by district and city" for today holds the patient's place → the
// revenue report's PDF is exported and its text holds the title, the range and the total.

import { execFileSync } from 'node:child_process';
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { By } from 'selenium-webdriver';
import { App } from './lib/app.mjs';
import { setupAdmin, stepper } from './lib/flow.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts', 'reports');
const PORT = Number(process.env.HMS_E2E_REPORTS_PORT || 4452);
const WAIT = 30_000;
const ADMIN = { fullName: 'Asha Menon', username: 'admin', password: 'Clinic#2026adm' };

// The one service billed: GST 0 so that the bill's total is its price.
const SERVICE = { code: 'DRESS-L', name: 'Dressing, large', price: '1234.50', minor: 123450 };
const PATIENT = { given: 'Ravi', family: 'Kulkarni', age: '52', phone: '98450 22222', city: 'Hoskote', district: 'Bengaluru Rural' };

let dataDir = '';
let app = null;
/** The clinic's today (YYYY-MM-DD) as Home's dashboard reads it. */
let today = '';
/** What Home showed as received today before the payment, in minor units. */
let receivedBefore = 0;
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
    receivedBefore = minor(received);
    assert.equal(receivedBefore, 0);
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

  step('a service is added to the tariff and a patient registered', async () => {
    await app.click('nav-tariff');
    await app.click('tariff-add');
    await app.fill('svc-code', SERVICE.code);
    await app.fill('svc-name', SERVICE.name);
    await choose('svc-category', 'procedure');
    await app.click('svc-rate-pick-0');
    await app.fill('svc-price', SERVICE.price);
    await app.click('svc-save');
    await app.until(() => rowTexts('svc-row'), (rows) => rows.some((r) => r.includes(SERVICE.name)), WAIT, 'the service is listed');

    await app.click('nav-patients');
    await app.click('register-patient');
    await app.fill('pf-given_name', PATIENT.given);
    await app.fill('pf-family_name', PATIENT.family);
    await app.tick('pf-dob-unknown');
    await app.fill('pf-age_years', PATIENT.age);
    await app.fill('pf-phone-0', PATIENT.phone);
    await app.fill('pf-city', PATIENT.city);
    await app.fill('pf-district', PATIENT.district);
    await app.click('patient-save');
    assert.match(await app.textOf('new-mrn'), /^[0-9A-Z]{4}-\d{6}$/);
  });

  step('a bill for the service is finalised and paid in full', async () => {
    await app.click('nav-billing');
    await app.fill('bill-patient-search', PATIENT.family.toLowerCase());
    await app.click('bill-patient-result');
    await app.visible('bill-screen');
    await choose('bill-add-service', SERVICE.name);
    await app.fill('bill-add-qty', '1');
    await app.click('bill-add-line');
    const total = await app.visible('bill-total');
    await app.until(() => total.getAttribute('data-minor'), (v) => v === String(SERVICE.minor), WAIT, 'the bill totals the service');
    await app.click('bill-finalize');
    await app.click('bill-finalize-confirm');
    await app.click('pay-open');
    await app.fill('pay-amount', SERVICE.price);
    await app.click('pay-save');
    await app.until(async () => (await app.visible('bill-status')).getAttribute('data-status'), (s) => s === 'paid', WAIT, 'the bill is paid');
    await app.screenshot('bill-paid');
  });

  step("Home's collection today has grown by the payment", async () => {
    await app.click('nav-home');
    const dash = await app.visible('dashboard');
    today = await dash.getAttribute('data-today');
    assert.match(today, /^\d{4}-\d{2}-\d{2}$/);
    const received = await app.until(
      async () => minor(await app.textOf('dash-money-today-received')),
      (m) => m === receivedBefore + SERVICE.minor,
      WAIT,
      `received today = ${receivedBefore} + ${SERVICE.minor} (minor units)`,
    );
    assert.equal(received, receivedBefore + SERVICE.minor);
    assert.ok((await app.textOf('dash-money-today-mode-cash')).includes('1,234.50'), 'the payment is under cash');
    await app.screenshot('home-collected');
  });

  step('the revenue report over the last seven days', async () => {
    await app.click('nav-reports');
    await choose('report-pick', 'revenue_by_service');
    await choose('report-preset', 'custom');
    const from = daysBefore(today, 6);
    await app.fill('report-from', from);
    await app.fill('report-to', today);
    await app.until(
      async () => {
        const report = await app.visible('report');
        return `${await report.getAttribute('data-report')} ${await report.getAttribute('data-from')} ${await report.getAttribute('data-to')}`;
      },
      (v) => v === `revenue_by_service ${from} ${today}`,
      WAIT,
      'the report over the chosen range',
    );
    const rows = await rowTexts('report-row');
    assert.equal(rows.length, 1, `one service billed: ${JSON.stringify(rows)}`);
    assert.ok(rows[0].includes(SERVICE.name) && rows[0].includes('1,234.50'), `the service's line: ${rows[0]}`);
    assert.ok((await app.textOf('report-totals')).includes('1,234.50'), 'the totals row');
    await app.screenshot('revenue-custom-range');
  });

  step('patients by district and city counts the registration under its place', async () => {
    await choose('report-pick', 'patients_by_place');
    await choose('report-preset', 'today');
    await app.until(async () => (await app.visible('report')).getAttribute('data-report'), (v) => v === 'patients_by_place', WAIT, 'the places report');
    const rows = await app.until(() => rowTexts('report-row'), (r) => r.length > 0, WAIT, 'a row');
    assert.equal(rows.length, 1, JSON.stringify(rows));
    assert.ok(rows[0].includes(PATIENT.district) && rows[0].includes(PATIENT.city), `the row names the place: ${rows[0]}`);
    await app.screenshot('patients-by-place');
    // Back to the revenue report over the seven days, for its PDF.
    await choose('report-pick', 'revenue_by_service');
    await choose('report-preset', 'custom');
    await app.fill('report-from', daysBefore(today, 6));
    await app.fill('report-to', today);
    await app.until(
      async () => {
        const report = await app.visible('report');
        return `${await report.getAttribute('data-report')} ${await report.getAttribute('data-from')}`;
      },
      (v) => v === `revenue_by_service ${daysBefore(today, 6)}`,
      WAIT,
      'the revenue report again',
    );
  });

  step("the revenue report's PDF holds its title, range and total", async () => {
    const from = daysBefore(today, 6);
    const name = `revenue_by_service_${from}_${today}`;
    const exportsDir = path.join(dataDir, 'exports');
    await app.click('report-export-pdf');
    const saved = await app.until(
      () => (fs.existsSync(exportsDir) ? fs.readdirSync(exportsDir).find((f) => f.startsWith(name) && f.endsWith('.pdf')) : undefined),
      (f) => !!f,
      WAIT,
      `${name}.pdf is saved in ${exportsDir}`,
    );
    const file = path.join(exportsDir, saved);
    await app.until(() => wholePdf(file), (whole) => whole, WAIT, 'a whole PDF');
    const text = execFileSync('pdftotext', ['-layout', file, '-']).toString();
    for (const expected of ['Revenue by service', `${from} to ${today}`, SERVICE.name]) {
      assert.ok(text.includes(expected), `the PDF's text holds "${expected}":\n${text}`);
    }
    // The totals row: quantity 1, gross and total 1234.50.
    assert.match(text, /^\s*Total\s+1\s+1234\.50\s.*1234\.50\s*$/m, `the PDF's totals row:\n${text}`);
    fs.copyFileSync(file, path.join(ARTIFACTS, saved));
  });
});

/** Picks the option of a <select> whose value is, or whose text holds, `value`. */
async function choose(id, value) {
  const select = await app.visible(id);
  await app.centre(select);
  const option = await app.until(
    async () => {
      for (const o of await select.findElements(By.css('option'))) {
        if ((await o.getAttribute('value')) === value || (await o.getText()).includes(value)) return o;
      }
      return null;
    },
    (o) => !!o,
    WAIT,
    `[data-testid="${id}"] has the option "${value}"`,
  );
  await option.click();
  await app.until(() => option.isSelected(), (s) => s, WAIT, `option "${value}" of ${id} is selected`);
}

/** The text of every displayed element with this data-testid. */
async function rowTexts(id) {
  const out = [];
  for (const el of await app.driver.findElements(By.css(`[data-testid="${id}"]`))) {
    if (await el.isDisplayed()) out.push((await el.getText()).trim());
  }
  return out;
}

/** An amount as shown ("₹1,234.50") in minor units (123450). */
function minor(shown) {
  return Number(shown.replace(/[^\d]/g, ''));
}

/** `day` (YYYY-MM-DD) less `n` days. */
function daysBefore(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d - n)).toISOString().slice(0, 10);
}

function wholePdf(file) {
  const bytes = fs.readFileSync(file);
  return bytes.subarray(0, 5).toString() === '%PDF-' && bytes.subarray(-1024).toString('latin1').includes('%%EOF');
}
