// End-to-end test of the inpatients screens: the real app in WebKitGTK through tauri-driver.
//
//   HMS_APP_BIN=/abs/path/to/hms xvfb-run -a node --test tests/e2e/inpatients.e2e.test.mjs
//
// Environment: HMS_APP_BIN as for app.e2e; HMS_E2E_INPATIENTS_PORT tauri-driver's port (default
// 4450); HMS_E2E_KEEP=1 keeps the data directory. Needs libfaketime (apt package, `make deps`;
// HMS_FAKETIME_LIB overrides where it is): the first launch runs two days back.
//
// Flow: two days ago (the first launch on a clock set back, lib/fake-clock.mjs), the first
// administrator → adds a doctor, a bed-day charge to the tariff (1,500.00), sets up the General
// ward with that charge and beds A1 and A2, adds two medicines, registers Kavya, adds a
// doctor's, a nurse's and a receptionist's accounts → today (the app started again on the real
// clock) → reception checks her in to the doctor's queue → the doctor reserves A1 for her on
// the board, then admits her from the queue to the ward's waiting list, back-entered at 22:00
// yesterday (so a midnight, the census, has passed; the bed was reserved since, so not into it)
// → reception gives her A1, the bed reserved for her, on the board → the doctor sees her on
// the board (tablet size too), opens her chart from
// the card and orders paracetamol 1-0-1, ceftriaxone STAT and vitals every 4 h, writes a
// progress note; from her page changes paracetamol to 1-1-1, adds it when needed and stops a
// diet → the nurse (800×1280) opens the ward round, gives the STAT dose, records vitals, gives
// paracetamol when needed with its reason, sees both doses on the chart's MAR and writes a
// shift note → the doctor transfers her to A2, writes her discharge summary (diagnosis, course,
// a medicine, advice, follow-up) and discharges her through it: the summary is final and its
// PDF printed; A2 shows cleaning → reception opens her bill in Billing: a bed-day line at
// 1,500.00 for each night she stayed → the nurse marks A2 clean: free again. (The administrator
// sets up but does not admit: admitting, moving and discharging are the doctor's and
// reception's, cleaning and the MAR the nurses', orders the doctors'.)

import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { By } from 'selenium-webdriver';
import { App } from './lib/app.mjs';
import { fakeClock } from './lib/fake-clock.mjs';
import { setupAdmin, signIn, stepper } from './lib/flow.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts', 'inpatients');
const PORT = Number(process.env.HMS_E2E_INPATIENTS_PORT || 4450);
const WAIT = 30_000;
const ADMIN = { fullName: 'Asha Menon', username: 'admin', password: 'Clinic#2026adm' };
const DOCTOR = 'Dr Ravi Kumar';
const DOCTOR_USER = { fullName: DOCTOR, username: 'dr.ravi', temporary: 'Given#Doc2026x', password: 'Doctor#Own2026' };
const NURSE_USER = { fullName: 'Nisha Das', username: 'n.nisha', temporary: 'Given#Ward2026x', password: 'Nurse#Own2026x' };
const DESK_USER = { fullName: 'Rekha Pillai', username: 'r.rekha', temporary: 'Given#Desk2026x', password: 'Desk#Own2026xyz' };
/** The General ward's daily bed charge, in minor units. */
const BED_DAY_MINOR = 150_000;
const DAY_MS = 86_400_000;
/** The administrator's set-up, up to Kavya's registration, runs this many days back. */
const REGISTERED_DAYS_AGO = 2;
/**
 * Kavya's admission, back-entered at 22:00 yesterday on the clinic's clock (UTC until set):
 * between 2 and 26 hours ago, within the 72 hours a back-entry may reach, and a census
 * (midnight) ago. As typed on the datetime-local field, and the instant.
 */
const ADMITTED = (() => {
  const at = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * 3_600_000);
  return { typed: at.toISOString().slice(0, 16), ms: at.getTime() };
})();
/** The censuses (UTC midnights) a stay from the back-entered admission to now has passed. */
const nightsSinceAdmitted = () => Math.floor(Date.now() / DAY_MS) - Math.floor(ADMITTED.ms / DAY_MS);

let dataDir = '';
/** The follow-up a week ahead (the clinic's calendar is UTC until set): as typed (dd/mm/yyyy, en-IN) and as printed. */
const FOLLOW_UP = (() => {
  const d = new Date(Date.now() + 7 * 86_400_000);
  const dd = String(d.getUTCDate()).padStart(2, '0');
  const mm = String(d.getUTCMonth() + 1).padStart(2, '0');
  const typed = `${dd}/${mm}/${d.getUTCFullYear()}`;
  return { typed, printed: typed };
})();
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

/** The queue's row of a patient (waits for it). */
async function queueRow(name) {
  return app.driver.wait(
    async () => {
      for (const row of await app.driver.findElements(By.css('[data-testid="queue-row"]'))) {
        if ((await row.getText()).includes(name)) return row;
      }
      return false;
    },
    WAIT,
    `${name} should be in the queue`,
  );
}

/** Sets a datetime-local field's value as the user's picker would (typing into WebKitGTK's is unreliable). */
async function setValue(id, value) {
  const input = await app.visible(id);
  await app.driver.executeScript(
    'arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event("input", { bubbles: true }));',
    input,
    value,
  );
  await app.until(async () => input.getAttribute('value'), (v) => v === value, WAIT, `${id} should read ${value}`);
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

  step('two days ago, the first administrator adds a doctor', async () => {
    app = new App({ name: 'i0', dataDir, artifacts: ARTIFACTS, port: PORT, env: fakeClock(`-${REGISTERED_DAYS_AGO}d`) });
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

  step('the administrator adds a General bed-day at 1,500.00 to the tariff, priced from a week ago', async () => {
    await app.click('nav-tariff');
    await app.click('tariff-add');
    await app.visible('svc-dialog');
    await app.fill('svc-code', 'BED-GEN');
    await app.fill('svc-name', 'General bed-day');
    await choose('svc-category', 'bed_day');
    await app.click('svc-rate-pick-0');
    await app.fill('svc-price', '1500.00');
    // A bed-day is priced on the day it charges: yesterday's night needs yesterday's price.
    const from = new Date(Date.now() - 7 * DAY_MS);
    const dd = String(from.getUTCDate()).padStart(2, '0');
    const mm = String(from.getUTCMonth() + 1).padStart(2, '0');
    await app.fill('svc-from', `${dd}/${mm}/${from.getUTCFullYear()}`);
    await app.click('svc-save');
    await gone('svc-dialog');
  });

  step('the administrator sets up the General ward with beds A1 and A2', async () => {
    await app.click('nav-inpatients');
    await app.visible('inpatients-screen');
    await app.click('inpatients-view-setup');
    await app.fill('ward-name', 'General');
    await choose('ward-kind', 'general');
    await choose('ward-charge', 'General bed-day');
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

  step('the administrator adds paracetamol and ceftriaxone to the medicine list', async () => {
    await app.click('nav-clinical');
    await app.click('clin-view-catalogue');
    for (const [name, strength, form] of [['Paracetamol', '500 mg', 'tablet'], ['Ceftriaxone', '1 g', 'injection']]) {
      await app.fill('cat-med-name', name);
      await app.fill('cat-med-strength', strength);
      await app.fill('cat-med-form', form);
      await app.click('cat-med-add');
      await app.until(
        async () => {
          for (const row of await app.driver.findElements(By.css('[data-testid="cat-med-row"]'))) {
            if ((await row.getText()).includes(`${name} ${strength} ${form}`)) return true;
          }
          return false;
        },
        (found) => found,
        WAIT,
        `${name} should be listed`,
      );
    }
  });

  step('the administrator registers Kavya and adds a doctor\'s, a nurse\'s and a receptionist\'s accounts', async () => {
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
    for (const [user, role] of [[DOCTOR_USER, 'doctor'], [NURSE_USER, 'nurse'], [DESK_USER, 'receptionist']]) {
      await app.click('users-new');
      await app.fill('user-username', user.username);
      await app.fill('user-fullname', user.fullName);
      await app.fill('user-password', user.temporary);
      await app.tick(`user-role-${role}`);
      await app.click('user-save');
      await app.visible(`user-row-${user.username}`);
    }
  });

  step('two days later: the app starts again on today\'s clock', async () => {
    // Everything so far happened on a clock two days back (`fakeClock` at the first launch):
    // Kavya was registered then, so her admission can be back-entered to last night (never
    // before the registration). From here on the app runs on the real clock.
    await app.quit();
    app = new App({ name: 'i', dataDir, artifacts: ARTIFACTS, port: PORT });
    await app.launch(shots);
    await signIn(app, ADMIN);
  });

  step('reception checks Kavya in to the doctor\'s queue', async () => {
    await switchTo(DESK_USER);
    await app.click('nav-appointments');
    await app.click('appt-view-queue');
    await choose('queue-doctor', DOCTOR);
    // From her page, "Check in (walk-in)" opens the queue's walk-in form for her.
    await app.click('nav-patients');
    await app.fill('patient-search', 'Kavya');
    await app.click('patient-result');
    await app.click('patient-check-in');
    await app.visible('walkin-patient-chosen');
    await choose('walkin-doctor', DOCTOR);
    await app.fill('walkin-reason', 'Fever and breathlessness');
    await app.click('walkin-save');
    await queueRow('Kavya');
  });

  step('the doctor reserves A1 for Kavya: the board shows it held for her', async () => {
    await switchTo(DOCTOR_USER);
    await app.click('nav-inpatients');
    await bedAction('A1', 'reserve');
    await app.visible('reserve-dialog');
    await app.fill('reserve-patient-search', 'Kavya');
    await app.click('reserve-patient-result');
    await app.visible('reserve-patient');
    await app.fill('reserve-note', 'Coming from the clinic this afternoon');
    await app.click('reserve-confirm');
    await gone('reserve-dialog');
    await waitBedState('A1', 'reserved');
    const text = await (await app.driver.findElement(By.css(cardCss('A1')))).getText();
    assert.match(text, /Reserved for Kavya Nair/);
    assert.match(text, /Coming from the clinic/);
    await app.screenshot('reserved');
  });

  step('the doctor admits her from the queue to the ward\'s waiting list, back-entered at 22:00 yesterday', async () => {
    await app.click('nav-appointments');
    await app.click('appt-view-queue');
    await choose('queue-doctor', DOCTOR);
    const row = await queueRow('Kavya');
    assert.equal(await row.getAttribute('data-status'), 'waiting');
    const admit = await row.findElement(By.css('[data-testid="queue-admit"]'));
    await app.centre(admit);
    await admit.click();
    await app.visible('admit-dialog');
    // Filled in from the queue: the doctor and the reason.
    await app.until(
      async () => (await app.visible('admit-reason')).getAttribute('value'),
      (v) => v === 'Fever and breathlessness',
      WAIT,
      'the reason comes from the queue',
    );
    await app.fill('admit-reason', 'Pneumonia, needs oxygen');
    await app.fill('admit-days', '4');
    await choose('admit-ward', 'General');
    // The bed held for her is offered, and chosen first; but she came in at 22:00 yesterday,
    // before the bed was reserved: a back-entry goes to the waiting list.
    const offered = await app.visible('admit-bed');
    const picked = await offered.findElement(By.css('option:checked')).getText();
    assert.match(picked, /A1 — reserved for this patient/);
    await choose('admit-bed', 'waiting list');
    await setValue('admit-when', ADMITTED.typed);
    await app.screenshot('admit');
    await app.click('admit-confirm');
    await gone('admit-dialog');
  });

  step('reception gives her A1, the bed reserved for her, from the ward\'s waiting list on the board', async () => {
    await switchTo(DESK_USER);
    await app.click('nav-inpatients');
    const entry = await app.visible('waiting-entry');
    assert.match(await entry.getText(), /Kavya/);
    await app.click('waiting-give');
    await app.visible('bed-dialog');
    await choose('move-target', 'A1');
    await app.click('bed-dialog-confirm');
    await gone('bed-dialog');
    await waitBedState('A1', 'occupied');
    await gone('waiting-entry');
    await switchTo(DOCTOR_USER);
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

  step('the doctor opens her chart from the bed card: bed, ward and day of stay', async () => {
    await bedAction('A1', 'open-chart');
    await app.visible('inpatient-chart');
    const header = await (await app.visible('inpatient-chart-header')).getText();
    assert.match(header, /General · A1/);
    // Back-entered at 22:00 yesterday: a census has passed, this is her second day.
    assert.match(header, new RegExp(`Day ${nightsSinceAdmitted() + 1}`));
    assert.match(await (await app.visible('inpatient-chart-title')).getText(), /Kavya/);
  });

  step('the doctor orders paracetamol 1-0-1, ceftriaxone STAT and vitals every 4 hours', async () => {
    await app.visible('chart-orders');
    /** One order through the New order dialog; `fields` fills it. */
    async function newOrder(fields) {
      await app.click('order-new');
      await app.visible('order-dialog');
      await fields();
      await app.click('order-save');
      await gone('order-dialog');
    }
    await newOrder(async () => {
      await choose('order-kind', 'medicine');
      await choose('order-medicine', 'Paracetamol 500 mg tablet');
      await app.fill('order-dose', '1');
      await choose('order-unit', 'tablet');
      await choose('order-route', 'oral');
      await choose('order-schedule', 'times');
      await app.fill('order-pattern', '1-0-1');
      await app.screenshot('order-medicine');
    });
    await newOrder(async () => {
      await choose('order-medicine', 'Ceftriaxone 1 g injection');
      await app.fill('order-dose', '1000');
      await choose('order-unit', 'mg');
      await choose('order-route', 'iv');
      await choose('order-schedule', 'stat');
    });
    await newOrder(async () => {
      await choose('order-kind', 'nursing');
      await app.fill('order-instructions', 'Vitals with SpO2');
      await app.fill('order-vitals-every', '4');
    });
    const rows = async () => {
      const out = [];
      for (const row of await app.driver.findElements(By.css('[data-testid="order-row"][data-state="active"]'))) out.push(await row.getText());
      return out;
    };
    const texts = await app.until(rows, (r) => r.length === 3, WAIT, 'three active orders');
    assert.ok(texts.some((t) => /Paracetamol 500 mg tablet — 1 tablet oral/.test(t) && /1-0-1 \(08:00 and 20:00\)/.test(t)), texts.join(' | '));
    assert.ok(texts.some((t) => /Ceftriaxone/.test(t) && /STAT/.test(t)), texts.join(' | '));
    assert.ok(texts.some((t) => /Vitals every 4 hours/.test(t)), texts.join(' | '));
    await app.screenshot('chart-orders-tablet');
  });

  step('the doctor writes a progress note and goes back to the board', async () => {
    await app.click('inpatient-chart-view-notes');
    await app.fill('note-body', 'Febrile overnight, crackles right base. Continue antibiotics.');
    await app.click('note-save');
    const note = await app.visible('note-row');
    assert.match(await note.getText(), /Progress note/);
    await app.click('inpatient-chart-back');
    await waitBedState('A1', 'occupied');
  });

  /** Clicks a button of the active order whose text matches `what`. */
  async function orderButton(what, button) {
    const row = await app.until(
      async () => {
        for (const r of await app.driver.findElements(By.css('[data-testid="order-row"][data-state="active"]'))) {
          if (what.test(await r.getText())) return r;
        }
        return null;
      },
      (r) => r !== null,
      WAIT,
      `an active order ${what}`,
    );
    const el = await row.findElement(By.css(`[data-testid="${button}"]`));
    await app.centre(el);
    await el.click();
  }

  step('from her page the doctor changes paracetamol to 1-1-1, adds it when needed and stops a diet with a reason', async () => {
    await app.click('nav-patients');
    await app.fill('patient-search', 'Kavya');
    await app.click('patient-result');
    await app.click('patient-inpatient-chart');
    await app.visible('inpatient-chart');
    await app.visible('chart-orders');
    // Change: the form starts from the order; the old one is listed as stopped (changed).
    await orderButton(/Paracetamol.*\n?.*1-0-1/, 'order-change');
    await app.visible('order-dialog');
    await app.fill('order-pattern', '1-1-1');
    await app.click('order-save');
    await gone('order-dialog');
    // When needed, at most 4 in 24 hours.
    await app.click('order-new');
    await app.visible('order-dialog');
    await choose('order-medicine', 'Paracetamol 500 mg tablet');
    await app.fill('order-dose', '1');
    await choose('order-schedule', 'prn');
    await app.fill('order-prn-max', '4');
    await app.click('order-save');
    await gone('order-dialog');
    // A diet, then stopped: the reason is asked for.
    await app.click('order-new');
    await app.visible('order-dialog');
    await choose('order-kind', 'diet');
    await app.fill('order-instructions', 'Soft diet');
    await app.click('order-save');
    await gone('order-dialog');
    await orderButton(/Soft diet/, 'order-stop');
    await app.visible('order-stop-dialog');
    await app.fill('order-stop-reason', 'Tolerating a normal diet');
    await app.click('order-stop-confirm');
    await gone('order-stop-dialog');
    const state = async () => {
      const out = { active: [], stopped: [] };
      for (const r of await app.driver.findElements(By.css('[data-testid="order-row"]'))) out[await r.getAttribute('data-state')].push(await r.getText());
      return out;
    };
    const rows = await app.until(state, (r) => r.active.length === 4 && r.stopped.length === 2, WAIT, 'four active orders, two stopped');
    const all = JSON.stringify(rows);
    assert.ok(rows.active.some((t) => /1-1-1 \(08:00, 14:00,? and 20:00\)/.test(t)), all);
    assert.ok(rows.active.some((t) => /When needed, at most 4 times in 24 hours/.test(t)), all);
    assert.ok(rows.stopped.some((t) => /1-0-1/.test(t) && /changed/.test(t)), all);
    assert.ok(rows.stopped.some((t) => /Soft diet/.test(t) && /Tolerating a normal diet/.test(t)), all);
    await app.screenshot('chart-orders-changed');
  });

  /** The due items of a bed on the ward round, each with its kind and text. */
  async function dueItems(bed) {
    const out = [];
    for (const el of await app.driver.findElements(By.css(`[data-testid="round-patient"][data-bed="${bed}"] [data-testid="due-item"]`))) {
      out.push({ el, kind: await el.getAttribute('data-kind'), text: await el.getText() });
    }
    return out;
  }

  step('the nurse, on a tablet, opens the ward round: the STAT dose and the vitals are due', async () => {
    await switchTo(NURSE_USER);
    await app.click('nav-inpatients');
    await app.click('inpatients-view-round');
    await app.visible('ward-round');
    const items = await app.until(
      () => dueItems('A1'),
      (list) => list.some((i) => i.kind === 'dose' && /Ceftriaxone/.test(i.text)) && list.some((i) => i.kind === 'vitals'),
      WAIT,
      'the STAT dose and the vitals should be due for A1',
    );
    assert.ok(items.every((i) => !/Paracetamol/.test(i.text) || /08:00|14:00|20:00/.test(i.text)), 'a pattern’s dose is due at the clinic’s hours only');
    await app.screenshot('round-tablet');
  });

  step('the nurse gives the STAT dose and records her vitals from the round', async () => {
    const stat = (await dueItems('A1')).find((i) => i.kind === 'dose' && /Ceftriaxone/.test(i.text));
    const given = await stat.el.findElement(By.css('[data-testid="due-given"]'));
    await app.centre(given);
    await given.click();
    await app.visible('dose-dialog');
    // Given asks no reason; the other outcomes do.
    assert.equal((await app.driver.findElements(By.css('[data-testid="dose-reason"]'))).length, 0);
    await app.click('dose-confirm');
    await gone('dose-dialog');
    await app.until(() => dueItems('A1'), (list) => !list.some((i) => /Ceftriaxone/.test(i.text)), WAIT, 'the given dose leaves the round');
    const vitals = (await dueItems('A1')).find((i) => i.kind === 'vitals');
    const record = await vitals.el.findElement(By.css('[data-testid="due-vitals"]'));
    await app.centre(record);
    await record.click();
    await app.visible('vitals-dialog');
    await app.fill('vitals-temperature', '38.2');
    await app.fill('vitals-pulse', '96');
    await app.fill('vitals-bp_systolic', '118');
    await app.fill('vitals-bp_diastolic', '76');
    await app.fill('vitals-spo2', '94');
    await app.click('vitals-save');
    await gone('vitals-dialog');
    await app.until(() => dueItems('A1'), (list) => !list.some((i) => i.kind === 'vitals'), WAIT, 'vitals just taken are not due');
    // Paracetamol when needed: given with its reason.
    const patient = await app.driver.findElement(By.css('[data-testid="round-patient"][data-bed="A1"]'));
    const prn = await patient.findElement(By.css('[data-testid="round-prn"]'));
    await app.centre(prn);
    await prn.click();
    await app.click('prn-give');
    await app.visible('dose-dialog');
    await app.click('dose-confirm');
    // No reason: nothing is sent and the reason is asked for.
    await app.visible('dose-reason');
    assert.equal(await (await app.visible('dose-reason')).getAttribute('aria-invalid'), 'true');
    await app.fill('dose-reason', 'Fever 38.2');
    await app.click('dose-confirm');
    await gone('dose-dialog');
    await app.screenshot('round-recorded-tablet');
  });

  step('the MAR tab shows the dose; the nurse writes her shift note', async () => {
    const patient = await app.driver.findElement(By.css('[data-testid="round-patient"][data-bed="A1"]'));
    const open = await patient.findElement(By.css('[data-testid="round-open-chart"]'));
    await app.centre(open);
    await open.click();
    await app.visible('inpatient-chart');
    await app.click('inpatient-chart-view-mar');
    const entries = await app.until(
      async () => {
        const out = [];
        for (const e of await app.driver.findElements(By.css('[data-testid="mar-entry"]'))) {
          out.push({ outcome: await e.getAttribute('data-outcome'), text: await e.getText() });
        }
        return out;
      },
      (list) => list.length === 2,
      WAIT,
      'the STAT dose and the PRN dose on the MAR',
    );
    const stat = entries.find((e) => /Ceftriaxone/.test(e.text));
    assert.equal(stat?.outcome, 'given');
    assert.match(stat.text, new RegExp(NURSE_USER.fullName));
    const prn = entries.find((e) => /Paracetamol/.test(e.text));
    assert.match(prn?.text ?? '', /When needed/);
    assert.match(prn.text, /Fever 38\.2/);
    await app.screenshot('chart-mar-tablet');
    await app.click('inpatient-chart-view-notes');
    await choose('note-shift', 'morning');
    await app.fill('note-body', 'Ceftriaxone given. Febrile 38.2, SpO2 94% on 2 L oxygen.');
    await app.click('note-save');
    await app.until(
      async () => {
        for (const row of await app.driver.findElements(By.css('[data-testid="note-row"]'))) {
          if (/morning shift/.test(await row.getText())) return true;
        }
        return false;
      },
      (found) => found,
      WAIT,
      'the shift note should be listed',
    );
    await app.click('inpatient-chart-back');
    await app.visible('ward-round');
  });

  step('the doctor is back on the board', async () => {
    await switchTo(DOCTOR_USER);
    await app.click('nav-inpatients');
    await waitBedState('A1', 'occupied');
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

  step('the nurse charts intake and output from the handover: the balance shows', async () => {
    await switchTo(NURSE_USER);
    await app.click('nav-inpatients');
    await app.click('inpatients-view-handover');
    const patient = await app.visible('handover-patient');
    assert.match(await patient.getText(), /A2 · Kavya/);
    await app.click('handover-io-open');
    await app.visible('io-dialog');
    for (const [direction, kind, ml] of [['intake', 'oral', '300'], ['output', 'urine', '450']]) {
      await choose('io-direction', direction);
      await choose('io-kind', kind);
      await app.fill('io-volume', ml);
      await app.click('io-save');
      await app.until(
        async () => (await app.driver.findElements(By.css(`[data-testid="io-entry"][data-direction="${direction}"]`))).length,
        (n) => n === 1,
        WAIT,
        `the ${direction} entry should be listed`,
      );
    }
    await app.until(
      async () => (await app.visible('io-day-net')).getText(),
      (text) => /−150 ml/.test(text),
      WAIT,
      'the day\'s net balance should be −150 ml',
    );
    await app.screenshot('intake-output-tablet');
    await app.click('io-dialog-close');
    await gone('io-dialog');
  });

  step('the handover lists Kavya with the shift\'s balance and prints', async () => {
    await app.until(
      async () => (await app.visible('handover-io')).getText(),
      (text) => /In 300 ml/.test(text) && /Out 450 ml/.test(text),
      WAIT,
      'the handover should show the shift\'s intake and output',
    );
    assert.match(await (await app.visible('handover-title')).getText(), /General/);
    await app.screenshot('handover-tablet');
    // The doctor discharges next, from the board.
    await switchTo(DOCTOR_USER);
    await app.click('nav-inpatients');
    await waitBedState('A2', 'occupied');
  });

  step('the doctor writes her discharge summary from the Discharge dialog', async () => {
    await bedAction('A2', 'discharge');
    await app.visible('bed-dialog');
    await app.click('discharge-write-summary');
    await gone('bed-dialog');
    await app.visible('summary-dialog');
    assert.match(await app.textOf('summary-allergies'), /No known allergies|\w/, 'the allergies come from the record');
    await app.fill('dx-search', 'J18.9');
    await app.click('dx-result');
    await app.until(async () => (await app.driver.findElements(By.css('[data-testid="summary-diagnosis"]'))).length, (n) => n === 1, WAIT, 'the diagnosis is added');
    await app.fill('summary-course', 'Treated with IV ceftriaxone and oxygen; afebrile from day 2.');
    await app.fill('summary-medicine-search', 'Paracetamol');
    await choose('summary-medicine-pick', 'Paracetamol');
    await app.click('summary-medicine-add');
    await app.fill('med-schedule', '1-0-1');
    await app.fill('med-days', '5');
    await app.fill('summary-advice', 'Rest at home; plenty of fluids.');
    await app.fill('summary-follow-up', FOLLOW_UP.typed);
    await app.click('summary-save');
    await app.until(() => app.textOf('summary-status'), (s) => /Draft/.test(s), WAIT, 'the draft is saved');
    await app.screenshot('summary-draft');
  });

  step('she is discharged through the summary: it is final, printed, and A2 goes to cleaning', async () => {
    await choose('summary-discharge-type', 'home');
    await app.click('summary-discharge');
    await app.until(
      async () => (await app.visible('discharge-summary')).getAttribute('data-final'),
      (f) => f === 'true',
      WAIT,
      'the summary is final after the discharge',
    );
    await app.click('summary-print');
    const exportsDir = path.join(dataDir, 'exports');
    const pdf = await app.until(
      () => (fs.existsSync(exportsDir) ? fs.readdirSync(exportsDir).find((f) => f.startsWith('discharge-summary-')) : undefined),
      (f) => !!f,
      WAIT,
      'the discharge summary PDF is saved',
    );
    const file = path.join(exportsDir, pdf);
    await app.until(
      () => fs.readFileSync(file).subarray(-1024).toString('latin1').includes('%%EOF'),
      (whole) => whole,
      WAIT,
      'a whole PDF',
    );
    const text = execFileSync('pdftotext', ['-layout', file, '-']).toString();
    for (const expected of ['Kavya', 'J18.9', 'Paracetamol', '1-0-1', FOLLOW_UP.printed, 'Home']) {
      assert.ok(text.includes(expected), `the printed summary shows ${expected}:\n${text}`);
    }
    assert.ok((await app.visible('summary-book-follow-up')) !== null, 'the follow-up can be booked');
    await app.screenshot('summary-final');
    await app.click('discharge-summary-close');
    await gone('summary-dialog');
    await waitBedState('A2', 'cleaning');
    await app.screenshot('cleaning-tablet');
    assert.equal(
      (await app.driver.findElements(By.css(`${cardCss('A2')} [data-testid="bed-cleaned"]`))).length,
      0,
      'cleaning is the nurses\', not offered to the doctor',
    );
  });

  step('reception opens her bill in Billing: a bed-day at 1,500.00 for each night she stayed', async () => {
    const nights = nightsSinceAdmitted();
    await switchTo(DESK_USER);
    await app.click('nav-billing');
    await app.fill('bill-patient-search', 'Kavya');
    await app.click('bill-patient-result');
    await app.visible('bill-screen');
    const lines = await app.until(
      async () => {
        const found = [];
        for (const row of await app.driver.findElements(By.css('[data-testid="bill-line"][data-source="bed_day"]'))) {
          found.push(await row.getText());
        }
        return found;
      },
      (found) => found.length === nights,
      WAIT,
      `the bill should show ${nights} bed-day line(s)`,
    );
    // The first night she was on the waiting list: the ward's charge, no bed on the line.
    const first = new Date(ADMITTED.ms).toISOString().slice(0, 10);
    assert.match(lines[0], new RegExp(`Bed-day ${first}`));
    for (const line of lines) assert.match(line, /1,500\.00/);
    const total = Number(await (await app.visible('bill-total')).getAttribute('data-minor'));
    assert.ok(total >= nights * BED_DAY_MINOR, `the total ${total} holds the bed-days`);
    await app.screenshot('bill-bed-days');
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
