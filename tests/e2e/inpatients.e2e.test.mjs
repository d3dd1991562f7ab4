// End-to-end test of the inpatients screens: the real app in WebKitGTK through tauri-driver.
//
//   HMS_APP_BIN=/abs/path/to/hms xvfb-run -a node --test tests/e2e/inpatients.e2e.test.mjs
//
// Environment: HMS_APP_BIN as for app.e2e; HMS_E2E_INPATIENTS_PORT tauri-driver's port (default
// 4450); HMS_E2E_KEEP=1 keeps the data directory.
//
// Flow: first administrator → adds a doctor, sets up the General ward with beds A1 and A2,
// registers Kavya, adds a doctor's and a nurse's accounts → the doctor admits her from her page
// to A1, sees her on the board (tablet size too), transfers her to A2, discharges her: A2 shows
// cleaning → the nurse marks A2 clean: free again. (The administrator sets up but does not
// admit: admitting, moving and discharging are the doctor's and reception's, cleaning the
// nurses'.)

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { By } from 'selenium-webdriver';
import { App } from './lib/app.mjs';
import { setupAdmin, signIn, stepper } from './lib/flow.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts', 'inpatients');
const PORT = Number(process.env.HMS_E2E_INPATIENTS_PORT || 4450);
const WAIT = 30_000;
const ADMIN = { fullName: 'Asha Menon', username: 'admin', password: 'Clinic#2026adm' };
const DOCTOR = 'Dr Ravi Kumar';
const DOCTOR_USER = { fullName: DOCTOR, username: 'dr.ravi', temporary: 'Given#Doc2026x', password: 'Doctor#Own2026' };
const NURSE_USER = { fullName: 'Nisha Das', username: 'n.nisha', temporary: 'Given#Ward2026x', password: 'Nurse#Own2026x' };

let dataDir = '';
let app = null;
const shots = { n: 0 };
const step = stepper(() => app);

/** Picks an option of a <select> by its value or a text it contains. */
async function choose(id, value) {
  const select = await app.visible(id);
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

const cardCss = (bed) => `[data-testid="bed-card"][data-bed="${bed}"]`;

/** The state a bed's card shows (waits for the card). */
async function bedState(bed) {
  return app.until(
    async () => {
      const cards = await app.driver.findElements(By.css(cardCss(bed)));
      return cards.length ? cards[0].getAttribute('data-state') : null;
    },
    (s) => s !== null,
    WAIT,
    `bed ${bed} should be on the board`,
  );
}

async function waitBedState(bed, state) {
  await app.until(() => bedState(bed), (s) => s === state, WAIT, `bed ${bed} should become ${state}`);
}

/** Clicks an action button on one bed's card. */
async function bedAction(bed, action) {
  const button = await app.driver.wait(
    async () => {
      const found = await app.driver.findElements(By.css(`${cardCss(bed)} [data-testid="bed-${action}"]`));
      return found.length ? found[0] : false;
    },
    WAIT,
    `bed ${bed} should offer ${action}`,
  );
  await app.centre(button);
  await button.click();
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

describe('HMS inpatients (WebKitGTK through tauri-driver)', { timeout: 15 * 60_000 }, () => {
  before(() => {
    fs.rmSync(ARTIFACTS, { recursive: true, force: true });
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hms-e2e-inpatients-'));
    process.once('exit', () => app?.killNow());
  });

  after(async () => {
    const running = app;
    app = null;
    await running?.quit();
    if (step.failed() || process.env.HMS_E2E_KEEP === '1') console.log(`# e2e data directory kept: ${dataDir}`);
    else fs.rmSync(dataDir, { recursive: true, force: true });
  });

  step('the administrator adds a doctor', async () => {
    app = new App({ name: 'i', dataDir, artifacts: ARTIFACTS, port: PORT });
    await app.launch(shots);
    await setupAdmin(app, ADMIN);
    await app.click('nav-staff');
    await app.click('staff-view-people');
    await app.click('staff-add');
    await app.fill('staff-name', DOCTOR);
    await choose('staff-role', 'doctor');
    await app.click('staff-save');
    await app.visible('staff-row');
  });

  step('the administrator sets up the General ward with beds A1 and A2', async () => {
    await app.click('nav-inpatients');
    await app.visible('inpatients-screen');
    await app.click('inpatients-view-setup');
    await app.fill('ward-name', 'General');
    await choose('ward-kind', 'general');
    await app.click('ward-save');
    await app.visible('ward-row');
    for (const label of ['A1', 'A2']) {
      await choose('bed-ward', 'General');
      await app.fill('bed-label', label);
      await app.fill('bed-tags', 'oxygen');
      await app.click('bed-save');
      // The form empties its label once the bed is saved.
      await app.until(
        async () => (await app.visible('bed-label')).getAttribute('value'),
        (v) => v === '',
        WAIT,
        `bed ${label} should be added`,
      );
    }
    await app.screenshot('setup');
    await app.click('inpatients-view-board');
    assert.equal(await bedState('A1'), 'free');
    assert.equal(await bedState('A2'), 'free');
  });

  step('the administrator registers Kavya and adds a doctor\'s and a nurse\'s accounts', async () => {
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
    await app.click('nav-users');
    await app.visible('users-table');
    for (const [user, role] of [[DOCTOR_USER, 'doctor'], [NURSE_USER, 'nurse']]) {
      await app.click('users-new');
      await app.fill('user-username', user.username);
      await app.fill('user-fullname', user.fullName);
      await app.fill('user-password', user.temporary);
      await app.tick(`user-role-${role}`);
      await app.click('user-save');
      await app.visible(`user-row-${user.username}`);
    }
  });

  step('the doctor admits Kavya from her page to A1', async () => {
    await switchTo(DOCTOR_USER);
    await app.click('nav-patients');
    await app.fill('patient-search', 'Kavya');
    await app.click('patient-result');
    await app.click('patient-admit');
    await app.visible('admit-dialog');
    await choose('admit-doctor', DOCTOR);
    await app.fill('admit-reason', 'Pneumonia, needs oxygen');
    await app.fill('admit-days', '4');
    await choose('admit-ward', 'General');
    await choose('admit-bed', 'A1');
    await app.screenshot('admit');
    await app.click('admit-confirm');
    await gone('admit-dialog');
  });

  step('the board shows her in A1, at desktop and tablet size', async () => {
    await app.click('nav-inpatients');
    await waitBedState('A1', 'occupied');
    const text = await (await app.driver.findElement(By.css(cardCss('A1')))).getText();
    assert.match(text, /Kavya/);
    assert.match(text, new RegExp(DOCTOR.replace('Dr ', '')));
    await app.screenshot('board');
    await app.driver.manage().window().setRect({ width: 800, height: 1280 });
    await app.screenshot('board-tablet');
  });

  step('she is transferred to A2', async () => {
    await bedAction('A1', 'transfer');
    await app.visible('bed-dialog');
    await choose('move-target', 'A2');
    await app.click('bed-dialog-confirm');
    await gone('bed-dialog');
    await waitBedState('A2', 'occupied');
    // The bed she left is made ready again before the next patient.
    assert.equal(await bedState('A1'), 'cleaning');
  });

  step('she is discharged: A2 goes to cleaning', async () => {
    await bedAction('A2', 'discharge');
    await app.visible('bed-dialog');
    await choose('discharge-type', 'home');
    await app.click('bed-dialog-confirm');
    await gone('bed-dialog');
    await waitBedState('A2', 'cleaning');
    await app.screenshot('cleaning-tablet');
    assert.equal(
      (await app.driver.findElements(By.css(`${cardCss('A2')} [data-testid="bed-cleaned"]`))).length,
      0,
      'cleaning is the nurses\', not offered to the doctor',
    );
  });

  step('the nurse marks A2 clean: it is free again', async () => {
    await switchTo(NURSE_USER);
    await app.click('nav-inpatients');
    await waitBedState('A2', 'cleaning');
    await bedAction('A2', 'cleaned');
    await waitBedState('A2', 'free');
    await app.driver.manage().window().setRect({ width: 1280, height: 800 });
    await app.screenshot('clean');
  });
});
