// End-to-end test of the pharmacy screens: the real app in WebKitGTK through tauri-driver.
//
//   HMS_APP_BIN=/abs/path/to/hms xvfb-run -a node --test tests/e2e/pharmacy.e2e.test.mjs
//
// Environment: HMS_APP_BIN as for app.e2e; HMS_E2E_PHARMACY_PORT tauri-driver's port (default
// 4454); HMS_E2E_KEEP=1 keeps the data directory.
//
// Flow: first administrator → finds amoxicillin on the starter medicine list, registers Kavya, adds a
// doctor's account with its staff profile and a pharmacist's account; sets up the pharmacy
// counter, a supplier and the amoxicillin stock item (packs of 10 capsules, 5.00 each) → the
// pharmacist receives a delivery of two batches (LATE-1 and SOON-1, expiring a year apart)
// → the doctor records her sulfa allergy and prescribes amoxicillin 1 capsule 1-0-1 for 5 days after food → the pharmacist,
// on an 800 px tablet, sees it waiting with her allergy, dispenses it: first expiry first out
// takes SOON-1 (the earlier expiry), 10 capsules → prints the labels: the PDF holds her name,
// the medicine, "1 capsule twice a day after food for 5 days" and the batch → the batch's
// balance went down by 10 → her Home's stock tile shows amoxicillin below its reorder level
// (25 of 30) and opens the stock items and the expiry list → she counts the counter (a stock
// take): SOON-1 is one capsule short, the variance shows, she prints the count sheet and posts:
// SOON-1's balance goes down by one → she drafts the purchase order from the suggestions (one
// pack from Medline), sends it and receives the pack against it (received in full) → the
// administrator opens her bill: the medicine line is on it.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { By, Key } from 'selenium-webdriver';
import { App } from './lib/app.mjs';
import { setupAdmin, signIn, stepper } from './lib/flow.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts', 'pharmacy');
const PORT = Number(process.env.HMS_E2E_PHARMACY_PORT || 4454);
const WAIT = 30_000;
const ADMIN = { fullName: 'Asha Menon', username: 'admin', password: 'Clinic#2026adm' };
const DOCTOR = 'Dr Ravi Kumar';
const DOCTOR_USER = { fullName: DOCTOR, username: 'dr.ravi', temporary: 'Given#Doc2026x', password: 'Doctor#Own2026' };
const PHARMACIST = { fullName: 'Prakash Iyer', username: 'ph.prakash', temporary: 'Given#Pharm2026', password: 'Pharm#Own2026x' };

/** A day `days` from now as typed in a date field (dd/mm/yyyy, en-IN). */
function typedDay(days) {
  const d = new Date(Date.now() + days * 86_400_000);
  return `${String(d.getUTCDate()).padStart(2, '0')}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${d.getUTCFullYear()}`;
}

let dataDir = '';
let app = null;
const shots = { n: 0 };
const step = stepper(() => app);

/** Picks an option of a <select> (the n-th with that test id) by its value or a text it contains. */
async function choose(id, value, n = 0) {
  const select = await nth(id, n);
  await app.centre(select);
  const option = await app.driver.wait(
    async () => {
      for (const o of await select.findElements(By.css('option'))) {
        if ((await o.getAttribute('value')) === value || (await o.getText()).includes(value)) return o;
      }
      return false;
    },
    WAIT,
    `[data-testid="${id}"] has no option "${value}"`,
  );
  await option.click();
  await app.driver.wait(async () => option.isSelected(), WAIT, `option "${value}" of ${id} was not selected`);
}

/** The n-th visible element with a test id (waits for it). */
async function nth(id, n) {
  return app.driver.wait(
    async () => {
      const all = await app.driver.findElements(By.css(`[data-testid="${id}"]`));
      return all.length > n && (await all[n].isDisplayed()) ? all[n] : false;
    },
    WAIT,
    `[data-testid="${id}"] #${n} should be visible`,
  );
}

/** Clicks the first visible element with a test id whose text starts with `text`. */
async function clickWithText(id, text) {
  const el = await app.driver.wait(
    async () => {
      for (const e of await app.driver.findElements(By.css(`[data-testid="${id}"]`))) {
        if ((await e.isDisplayed()) && (await e.getText()).trim().startsWith(text)) return e;
      }
      return false;
    },
    WAIT,
    `no [data-testid="${id}"] reads "${text}"`,
  );
  await app.centre(el);
  await el.click();
}

/** Types into the n-th element with a test id. */
async function fillNth(id, n, value) {
  const el = await nth(id, n);
  await app.centre(el);
  await el.clear();
  await el.sendKeys(value);
}

async function clickNth(id, n) {
  const el = await nth(id, n);
  await app.centre(el);
  await el.click();
}

/** Signs out and in as `user`, choosing their own password at a first sign-in. */
async function switchTo(user) {
  await app.click('signout-button');
  await signIn(app, { username: user.username, password: user.temporary ?? user.password });
  if (user.temporary) {
    await app.visible('change-forced');
    await app.fill('change-old', user.temporary);
    await app.fill('change-new', user.password);
    await app.fill('change-confirm', user.password);
    await app.click('change-submit');
    await gone('change-password-dialog');
    delete user.temporary;
  }
}

async function gone(id) {
  await app.until(
    async () => (await app.driver.findElements(By.css(`[data-testid="${id}"]`))).length,
    (n) => n === 0,
    WAIT,
    `${id} should close`,
  );
}

/** The attribute `attr` of every element with a test id. */
async function attrs(id, attr) {
  const out = [];
  for (const el of await app.driver.findElements(By.css(`[data-testid="${id}"]`))) out.push(await el.getAttribute(attr));
  return out;
}

describe('HMS pharmacy (WebKitGTK through tauri-driver)', { timeout: 15 * 60_000 }, () => {
  before(() => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-e2e-pharmacy-'));
    process.once('exit', () => app?.killNow());
  });

  after(async () => {
    const running = app;
    app = null;
    await running?.quit();
    if (step.failed() || process.env.HMS_E2E_KEEP === '1') console.log(`# e2e data directory kept: ${dataDir}`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  });

  step('the administrator finds amoxicillin on the medicine list and registers Kavya', async () => {
    app = new App({ name: 'ph', dataDir, artifacts: ARTIFACTS, port: PORT });
    await app.launch(shots);
    await setupAdmin(app, ADMIN);
    await app.click('nav-clinical');
    await app.click('clin-view-catalogue');
    // The starter formulary (chosen at first run) already holds it.
    await app.until(
      async () => {
        for (const row of await app.driver.findElements(By.css('[data-testid="cat-med-row"]'))) {
          if ((await row.getText()).includes('Amoxicillin 500 mg capsule')) return true;
        }
        return false;
      },
      (found) => found,
      WAIT,
      'amoxicillin should be listed',
    );
    await app.click('nav-patients');
    await app.visible('patient-search');
    await app.click('register-patient');
    await app.fill('pf-given_name', 'Kavya');
    await app.fill('pf-family_name', 'Nair');
    await app.tick('pf-dob-unknown');
    await app.fill('pf-age_years', '34');
    await app.fill('pf-phone-0', '98450 33333');
    await app.click('patient-save');
    await app.visible('new-mrn');
  });

  step('the administrator adds the doctor (account and staff profile) and the pharmacist', async () => {
    await app.click('nav-users');
    await app.visible('users-table');
    for (const [user, role] of [[DOCTOR_USER, 'doctor'], [PHARMACIST, 'pharmacist']]) {
      await app.click('users-new');
      await app.fill('user-username', user.username);
      await app.fill('user-fullname', user.fullName);
      await app.fill('user-password', user.temporary);
      await app.tick(`user-role-${role}`);
      await app.click('user-save');
      await app.visible(`user-row-${user.username}`);
    }
    await app.click('nav-staff');
    await app.click('staff-view-people');
    await app.click('staff-add');
    await app.fill('staff-name', DOCTOR);
    await choose('staff-role', 'doctor');
    await choose('staff-user', DOCTOR_USER.username);
    await app.click('staff-save');
    await app.visible('staff-row');
  });

  step('the administrator sets up the pharmacy counter, a supplier and the amoxicillin item', async () => {
    await app.click('nav-pharmacy');
    await app.visible('pharmacy');
    await app.click('pharmacy-view-setup');
    await app.fill('store-name', 'Pharmacy counter');
    await choose('store-kind', 'pharmacy');
    await app.click('store-add');
    await app.until(async () => (await app.driver.findElements(By.css('[data-testid="store-row"]'))).length, (n) => n === 1, WAIT, 'the store is listed');
    await app.dismissToasts();
    await app.fill('supplier-name', 'Medline Distributors');
    await app.fill('supplier-tax', '29ABCDE1234F1Z5');
    await app.click('supplier-add');
    await app.visible('supplier-row');
    await app.dismissToasts();
    await app.click('pharmacy-view-items');
    await app.click('item-add');
    await app.visible('item-dialog');
    await app.fill('item-medicine-search', 'Amoxicillin');
    await clickWithText('item-medicine-result', 'Amoxicillin 500 mg capsule');
    await app.visible('item-medicine-chosen');
    await app.fill('item-pack-size', '10');
    await app.fill('item-unit', 'capsule');
    await app.fill('item-reorder', '30');
    await app.fill('item-tax', '12');
    await app.fill('item-price', '5.00');
    await app.screenshot('item-dialog');
    await app.click('item-save');
    await gone('item-dialog');
    const names = await app.until(() => attrs('item-row', 'data-name'), (n) => n.length === 1, WAIT, 'the item is listed');
    assert.deepEqual(names, ['Amoxicillin 500 mg capsule']);
  });

  step('the pharmacist receives a delivery of two batches into the counter', async () => {
    await switchTo(PHARMACIST);
    await app.click('nav-pharmacy');
    await app.click('pharmacy-view-receive');
    await app.visible('receive');
    await choose('receive-store', 'Pharmacy counter');
    await choose('receive-supplier', 'Medline');
    await app.fill('receive-invoice', 'MD/2026/0412');
    await app.click('receive-add-line');
    // Line 1: LATE-1, two years out, 2 packs; line 2: SOON-1, one year out, 1 pack + 5.
    const lines = [
      { batch: 'LATE-1', expiry: typedDay(730), packs: '2', units: '' },
      { batch: 'SOON-1', expiry: typedDay(365), packs: '1', units: '5' },
    ];
    for (const [i, l] of lines.entries()) {
      await fillNth('receive-item-search', 0, 'Amox');
      await clickNth('receive-item-result', 0);
      await nth('receive-item-chosen', i);
      await fillNth('receive-batch', i, l.batch);
      await fillNth('receive-expiry', i, l.expiry);
      await fillNth('receive-packs', i, l.packs);
      if (l.units) await fillNth('receive-units', i, l.units);
      await fillNth('receive-cost', i, '30.00');
    }
    await app.screenshot('receive');
    await app.click('receive-confirm');
    assert.match(await app.textOf('receive-done'), /Received 2 batch\(es\), 35 units/);
    await app.click('pharmacy-view-items');
    await app.click('item-batches');
    const batches = await app.until(() => attrs('balance-row', 'data-batch'), (b) => b.length === 2, WAIT, 'two batches');
    assert.deepEqual(batches.sort(), ['LATE-1', 'SOON-1']);
  });

  step('the doctor prescribes amoxicillin 1 capsule 1-0-1 for 5 days after food', async () => {
    await switchTo(DOCTOR_USER);
    await app.click('nav-patients');
    await app.fill('patient-search', 'Kavya');
    await app.click('patient-result');
    await app.click('patient-open-chart');
    await app.visible('chart');
    // A sulfa allergy, chosen from the list of drug classes: the pharmacist will see it.
    await app.click('chart-add-allergy');
    await app.fill('allergy-substance', 'Sulfa');
    const option = await app.driver.wait(
      async () => (await app.driver.findElements(By.css('[data-testid="allergen-option"][data-code="class:sulfonamide_antibiotics"]')))[0] || false,
      WAIT,
      'the class is offered',
    );
    await app.centre(option);
    await option.click();
    await app.click('allergy-save');
    await gone('allergy-dialog');
    await app.click('chart-start-visit');
    await app.visible('visit-editor');
    await app.fill('visit-complaints', 'Sore throat and fever');
    await app.click('visit-save');
    await app.driver.wait(async () => !(await (await app.visible('visit-save')).isEnabled()), WAIT, 'the notes are saved');
    await app.click('rx-open');
    await app.visible('rx-dialog');
    await app.fill('rx-filter', 'Amox');
    await choose('rx-medicine', 'Amoxicillin 500 mg capsule');
    await app.fill('rx-dose', '1');
    await choose('rx-unit', 'capsule');
    await app.fill('rx-frequency', '1-0-1');
    await app.fill('rx-duration', '5');
    await app.fill('rx-instructions', 'after food');
    await app.click('rx-save');
    await gone('rx-dialog');
    await app.visible('visit-prescription');
  });

  step('the pharmacist, on a tablet, sees it waiting and dispenses first expiry first out: SOON-1', async () => {
    await switchTo(PHARMACIST);
    await app.driver.manage().window().setRect({ width: 800, height: 1280 });
    await app.click('nav-pharmacy');
    await app.visible('dispense-queue');
    const patients = await app.until(() => attrs('queue-item', 'data-patient'), (p) => p.length === 1, WAIT, 'one prescription waiting');
    assert.deepEqual(patients, ['Kavya Nair']);
    assert.match(await app.textOf('queue-allergies'), /Sulfonamide/);
    await app.screenshot('queue-tablet');
    await app.click('queue-dispense');
    await app.visible('dispense-dialog');
    // The rest of the course (1 × twice a day × 5 days), all from the earlier expiry.
    const picks = await app.until(() => attrs('dispense-pick', 'data-batch'), (b) => b.length > 0, WAIT, 'the proposal shows the batches');
    assert.deepEqual(picks, ['SOON-1']);
    assert.equal(await (await app.visible('dispense-quantity')).getAttribute('value'), '10');
    await app.screenshot('dispense-tablet');
    await app.click('dispense-confirm');
    await gone('dispense-dialog');
    await app.visible('dispensed-banner');
    await app.until(() => attrs('queue-item', 'data-patient'), (p) => p.length === 0, WAIT, 'nothing left waiting');
  });

  step('the pharmacist prints the labels: the PDF names her, the medicine, the dose in words and the batch', async () => {
    await app.click('print-labels');
    const exportsDir = path.join(dataDir, 'exports');
    const pdf = await app.until(
      () => (fs.existsSync(exportsDir) ? fs.readdirSync(exportsDir).find((f) => f.startsWith('labels-')) : undefined),
      (f) => !!f,
      WAIT,
      'the labels PDF is saved',
    );
    const file = path.join(exportsDir, pdf);
    await app.until(
      () => fs.readFileSync(file).subarray(-1024).toString('latin1').includes('%%EOF'),
      (whole) => whole,
      WAIT,
      'a whole PDF',
    );
    const text = execFileSync('pdftotext', ['-layout', file, '-']).toString();
    for (const expected of ['Kavya Nair', 'Amoxicillin 500 mg capsule', '1 capsule twice a day after food for 5 days', 'Batch SOON-1']) {
      assert.ok(text.includes(expected), `the labels show ${expected}:\n${text}`);
    }
  });

  step('SOON-1 went down by 10 and LATE-1 is untouched', async () => {
    await app.click('pharmacy-view-items');
    await app.click('item-batches');
    const quantities = async () => {
      const out = {};
      for (const row of await app.driver.findElements(By.css('[data-testid="balance-row"]'))) {
        out[await row.getAttribute('data-batch')] = (await row.findElement(By.css('[data-testid="balance-quantity"]')).getText()).trim();
      }
      return out;
    };
    const q = await app.until(quantities, (r) => Object.keys(r).length === 2, WAIT, 'two batches');
    assert.match(q['SOON-1'], /^5 capsule/);
    assert.match(q['LATE-1'], /^20 capsule/);
  });

  step('on the pharmacist’s Home: amoxicillin below its reorder level, nothing expiring; the tiles open the lists', async () => {
    await app.click('nav-home');
    await app.visible('dash-stock-low');
    // 25 capsules usable of a reorder level of 30; SOON-1 and LATE-1 expire in a year or two.
    assert.equal(await app.textOf('dash-stock-low-count'), '1');
    const low = await app.until(() => attrs('dash-stock-low-item', 'data-name'), (n) => n.length === 1, WAIT, 'one item low');
    assert.deepEqual(low, ['Amoxicillin 500 mg capsule']);
    assert.match(await app.textOf('dash-stock-low-item'), /25 of 30 capsule/);
    for (const key of ['expired', '30', '60', '90']) assert.equal(await app.textOf(`dash-stock-expiry-${key}`), '0');
    await app.screenshot('home-stock-tablet');
    await app.click('dash-stock-low-open');
    await app.visible('stock-items');
    await app.click('nav-home');
    await app.click('dash-stock-expiry-open');
    await app.visible('expiry-list');
  });

  step('her Home opens the suggested purchase order: 5 capsules to order from Medline, one pack', async () => {
    await app.click('nav-home');
    await app.click('dash-stock-order-open');
    // Over last month (no use then): reorder level 30 + 0 used − 25 on hand = 5 capsules, in
    // whole packs of 10: one, from the supplier of the latest delivery.
    const cells = async () => {
      const out = [];
      for (const row of await app.driver.findElements(By.css('[data-testid="report-row"]'))) {
        const tds = await row.findElements(By.css('td'));
        out.push(await Promise.all(tds.map(async (td) => (await td.getText()).trim())));
      }
      return out;
    };
    const rows = await app.until(cells, (r) => r.length === 1, WAIT, 'one item to order');
    const [supplier, item, unit, onHand, level, used, units, pack, packs] = rows[0];
    assert.deepEqual([supplier, item, unit], ['Medline Distributors', 'Amoxicillin 500 mg capsule', 'capsule']);
    assert.deepEqual([onHand, level, used, units, pack, packs], ['25', '30', '0', '5', '10', '1']);
    await app.screenshot('suggested-order');
  });

  step('the pharmacist counts the counter: SOON-1 is one capsule short, the variance shows, the post corrects it', async () => {
    await app.click('nav-pharmacy');
    await app.click('pharmacy-view-take');
    await app.visible('take-open-form');
    await app.click('take-open');
    await app.visible('take-sheet');
    // One line per batch with stock, earliest expiry first, with what the ledger holds.
    const lines = await app.until(() => attrs('take-line', 'data-batch'), (b) => b.length === 2, WAIT, 'two lines on the sheet');
    assert.deepEqual(lines, ['SOON-1', 'LATE-1']);
    const expected = [];
    for (const el of await app.driver.findElements(By.css('[data-testid="take-expected"]'))) expected.push((await el.getText()).trim());
    assert.deepEqual(expected, ['5', '20']);
    // The printed sheet lists the batches with a column to write in.
    await app.click('take-print');
    const exportsDir = path.join(dataDir, 'exports');
    const pdf = await app.until(
      () => (fs.existsSync(exportsDir) ? fs.readdirSync(exportsDir).find((f) => f.startsWith('stock-take-')) : undefined),
      (f) => !!f,
      WAIT,
      'the count sheet is saved',
    );
    const file = path.join(exportsDir, pdf);
    await app.until(() => fs.readFileSync(file).subarray(-1024).toString('latin1').includes('%%EOF'), (whole) => whole, WAIT, 'a whole PDF');
    const text = execFileSync('pdftotext', ['-layout', file, '-']).toString();
    for (const want of ['Stock take', 'Pharmacy counter', 'Amoxicillin 500 mg capsule', 'SOON-1', 'LATE-1', 'Counted']) {
      assert.ok(text.includes(want), `the count sheet shows ${want}:\n${text}`);
    }
    // 4 loose capsules of SOON-1 on the shelf (the ledger says 5); LATE-1 as the ledger says.
    await fillNth('take-units', 0, '4');
    await (await nth('take-units', 0)).sendKeys(Key.TAB);
    await app.until(() => attrs('take-line', 'data-counted'), (c) => c[0] === '4', WAIT, 'SOON-1 counted');
    await fillNth('take-packs', 1, '2');
    await (await nth('take-packs', 1)).sendKeys(Key.TAB);
    await app.until(() => attrs('take-line', 'data-counted'), (c) => c[1] === '20', WAIT, 'LATE-1 counted');
    const variances = async () => {
      const out = [];
      for (const el of await app.driver.findElements(By.css('[data-testid="take-variance"]'))) out.push((await el.getText()).trim());
      return out;
    };
    assert.deepEqual(await app.until(variances, (v) => v.length === 2 && v[0] !== '', WAIT, 'the variance shows'), ['−1', '0']);
    await app.screenshot('stock-take-tablet');
    await app.click('take-post');
    await app.click('take-confirm');
    await app.until(
      async () => (await app.visible('take-sheet')).getAttribute('data-status'),
      (status) => status === 'posted',
      WAIT,
      'the stock take is posted',
    );
    // The balance: SOON-1 down by the one capsule missing, LATE-1 untouched.
    await app.click('pharmacy-view-items');
    await app.click('item-batches');
    const quantities = async () => {
      const out = {};
      for (const row of await app.driver.findElements(By.css('[data-testid="balance-row"]'))) {
        out[await row.getAttribute('data-batch')] = (await row.findElement(By.css('[data-testid="balance-quantity"]')).getText()).trim();
      }
      return out;
    };
    const q = await app.until(quantities, (r) => /^4 capsule/.test(r['SOON-1'] ?? ''), WAIT, 'SOON-1 corrected to 4');
    assert.match(q['LATE-1'], /^20 capsule/);
  });

  step('she drafts the purchase order from the suggestions, changes it to two packs, sends it and receives them against it', async () => {
    await app.click('nav-pharmacy');
    await app.click('pharmacy-view-orders');
    await app.visible('po');
    await app.click('po-suggest');
    const statuses = () => attrs('po-row', 'data-status');
    await app.until(statuses, (s) => s.length === 1 && s[0] === 'draft', WAIT, 'one draft, for Medline');
    const row = await app.textOf('po-row');
    assert.match(row, /Medline Distributors/);
    assert.match(row, /Amoxicillin 500 mg capsule: 1 × 10 capsule \(0\/10\)/);
    // She changes the draft: two packs instead of the one suggested.
    await app.click('po-edit');
    await app.visible('po-edit-form');
    await app.dismissToasts();
    await app.fill('po-edit-packs', '2');
    await app.click('po-edit-save');
    await app.until(() => app.textOf('po-row'), (t) => /2 × 10 capsule \(0\/20\)/.test(t), WAIT, 'the draft asks for two packs');
    await app.click('po-send');
    await app.until(statuses, (s) => s[0] === 'sent', WAIT, 'sent (no approval asked)');
    await app.click('po-receive');
    await app.visible('po-receive-form');
    // The take's, the draft's and the send's toasts cover the form on the tablet-sized window.
    await app.dismissToasts();
    await app.fill('po-invoice', 'MD/2026/0950');
    await app.fill('po-batch', 'PO-1');
    await app.fill('po-expiry', typedDay(500));
    await app.screenshot('po-receive');
    await app.click('po-receive-save');
    await app.until(statuses, (s) => s[0] === 'received', WAIT, 'received in full');
    assert.match(await app.textOf('po-row'), /\(20\/20\)/);
    await app.screenshot('po-received');
  });

  step('the administrator opens her bill: the medicine is on it', async () => {
    await app.driver.manage().window().setRect({ width: 1280, height: 900 });
    await switchTo(ADMIN);
    await app.click('nav-billing');
    await app.fill('bill-patient-search', 'Kavya');
    await app.click('bill-patient-result');
    await app.visible('bill-screen');
    const line = await app.until(
      async () => {
        for (const row of await app.driver.findElements(By.css('[data-testid="bill-line"][data-source="dispense"]'))) return row.getText();
        return null;
      },
      (t) => t !== null,
      WAIT,
      'a dispensed line on the bill',
    );
    assert.match(line, /Amoxicillin 500 mg capsule \(batch SOON-1/);
    await app.screenshot('bill');
  });
});
