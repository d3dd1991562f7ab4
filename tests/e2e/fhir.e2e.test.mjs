// End-to-end test of "Import from FHIR" on the patient list: the real app in WebKitGTK
// through tauri-driver.
//
//   HMS_APP_BIN=/abs/path/to/hms xvfb-run -a node --test tests/e2e/fhir.e2e.test.mjs
//
// Environment: HMS_APP_BIN as for app.e2e; HMS_E2E_FHIR_PORT tauri-driver's port (default
// 4456); HMS_E2E_KEEP=1 keeps the data directory.
//
// Flow: first administrator → Patients → Import from FHIR → the fixture Bundle
// (fixtures/fhir-two-patients.json: two patients, one born in 2099) → the preview shows 2
// patients, 1 new, 1 refused, the records to create (a patient, a lab result — its test
// found in the starter catalogue by its LOINC code —, an allergy), the Claim not
// stored and the problem naming Patient/… and Patient.birthDate → Import → the report → the
// good patient is found by name in the search (their page keeps the other hospital's MRN as
// the old file number), the refused one is not → the same file again
// previews as nothing new (1 already here) and Import stays off.

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { By, error as wdError } from 'selenium-webdriver';
import { App, byTestId } from './lib/app.mjs';
import { setupAdmin, stepper } from './lib/flow.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts', 'fhir');
const FIXTURE = path.join(HERE, 'fixtures', 'fhir-two-patients.json');
const PORT = Number(process.env.HMS_E2E_FHIR_PORT || 4456);
const WAIT = 30_000;
const ADMIN = { fullName: 'Asha Menon', username: 'admin', password: 'Clinic#2026adm' };
const GOOD = 'Meenakshi Varghese';
const REFUSED_ID = '0190c2a1-7b1e-7000-8000-00000000e2e2';

let dataDir = '';
let app = null;
const shots = { n: 0 };
const step = stepper(() => app);

/** Chooses the fixture in the file box (or hands it to the page as a choice would). */
async function chooseFixture() {
  const input = await app.visible('fhir-import-file');
  await app.centre(input);
  try {
    await input.sendKeys(FIXTURE);
  } catch (e) {
    if (!(e instanceof wdError.WebDriverError)) throw e;
  }
  const taken = async () => app.driver.executeScript('return arguments[0].files.length', input);
  if ((await taken()) === 0) {
    // The driver could not type a path into the file box: give the page the file the way a
    // choice in the file dialog would, so that the step tests the screen.
    await app.driver.executeScript(
      `const input = arguments[0];
       const file = new File([arguments[1]], 'fhir-two-patients.json', { type: 'application/json' });
       const list = new DataTransfer();
       list.items.add(file);
       input.files = list.files;
       input.dispatchEvent(new Event('change', { bubbles: true }));`,
      input,
      fs.readFileSync(FIXTURE, 'utf8'),
    );
  }
}

/** The rows of a count table as { kind: count }. */
async function countRows(testid) {
  const out = {};
  for (const row of await app.driver.findElements(byTestId(`${testid}-row`))) {
    out[await row.getAttribute('data-kind')] = Number(await row.getAttribute('data-count'));
  }
  return out;
}

async function number(testid) {
  return Number((await app.textOf(testid)).replace(/[^\d]/g, ''));
}

async function search(text) {
  await app.click('nav-patients');
  await app.fill('patient-search', text);
}

describe('HMS FHIR import (WebKitGTK through tauri-driver)', { timeout: 10 * 60_000 }, () => {
  before(() => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-e2e-fhir-'));
    process.once('exit', () => app?.killNow());
  });

  after(async () => {
    const running = app;
    app = null;
    await running?.quit();
    if (step.failed() || process.env.HMS_E2E_KEEP === '1') console.log(`# e2e data directory kept: ${dataDir}`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  });

  step('the administrator opens "Import from FHIR" from the patient list', async () => {
    app = new App({ name: 'f', dataDir, artifacts: ARTIFACTS, port: PORT });
    await app.launch(shots);
    await setupAdmin(app, ADMIN);
    await app.click('nav-patients');
    await app.click('import-fhir');
    await app.visible('fhir-import-file');
  });

  step("the Bundle's preview: 2 patients, 1 new, 1 refused, what would be created, the Claim not stored, the problem", async () => {
    await chooseFixture();
    await app.visible('fhir-import-preview', WAIT);
    assert.equal(await number('fhir-import-patients'), 2);
    assert.equal(await number('fhir-import-new'), 1);
    assert.equal(await number('fhir-import-matched'), 0);
    assert.equal(await number('fhir-import-refused'), 1);
    assert.deepEqual(await countRows('fhir-import-created'), { patients: 1, lab_results: 1, allergies: 1 });
    assert.deepEqual(await countRows('fhir-import-not-stored'), { Claim: 1 });
    const problems = await app.driver.findElements(byTestId('fhir-import-problem'));
    assert.equal(problems.length, 1, 'one problem');
    assert.equal(await problems[0].getAttribute('data-resource'), `Patient/${REFUSED_ID}`);
    assert.match(await problems[0].getAttribute('data-field'), /^Patient\.birthDate/);
    const text = await problems[0].getText();
    assert.match(text, /Gopan Pillai|Patient\//, 'the patient it leaves out is named');
    await app.screenshot('preview');
  });

  step('Import writes the good patient and reports it', async () => {
    await app.click('fhir-import-run');
    const report = await app.visible('fhir-import-report', WAIT);
    assert.ok(report);
    assert.equal(await number('fhir-import-new'), 1);
    assert.equal(await number('fhir-import-refused'), 1);
    assert.deepEqual(await countRows('fhir-import-created'), { patients: 1, lab_results: 1, allergies: 1 });
    assert.equal((await app.driver.findElements(byTestId('fhir-import-problem'))).length, 1);
    await app.screenshot('report');
  });

  step('the imported patient is found by name in the search; the refused one is not', async () => {
    await search('varghese meen');
    const hit = await app.until(
      async () => {
        for (const el of await app.driver.findElements(byTestId('patient-result'))) {
          if ((await el.getText()).includes(GOOD)) return el;
        }
        return null;
      },
      Boolean,
      WAIT,
      `${GOOD} is found`,
    );
    await hit.click();
    const page = await app.visible('patient-page');
    await app.until(() => page.getText(), (s) => s.includes('DH-40017'), WAIT, "the other hospital's MRN is kept as the old file number");
    await app.screenshot('patient');
    await search('pillai');
    await app.visible('patient-search-none');
  });

  step('the same file again previews as nothing new and Import stays off', async () => {
    await app.click('nav-patients');
    await app.click('import-fhir');
    await chooseFixture();
    await app.visible('fhir-import-preview', WAIT);
    assert.equal(await number('fhir-import-new'), 0);
    assert.equal(await number('fhir-import-matched'), 1);
    assert.equal(await number('fhir-import-refused'), 1);
    await app.visible('fhir-import-nothing');
    const run = await app.visible('fhir-import-run');
    assert.equal(await run.isEnabled(), false, 'nothing to import');
    assert.equal((await app.driver.findElements(By.css('[data-testid="fhir-import-created-row"]'))).length, 0);
  });
});
