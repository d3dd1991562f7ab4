// The steps of an e2e file that drives App instances (lib/app.mjs) one at a time, and the
// first-run and sign-in screens they all pass through.

import fs from 'node:fs';
import { it } from 'node:test';
import { FIRST_WAIT } from './app.mjs';

/**
 * A `step(name, fn)` for one file: after a failure the later steps are skipped, and the screen
 * and its HTML are saved. `current()` answers the App running now (or null); `step.failed()`
 * says whether a step failed (to keep data directories, say).
 */
export function stepper(current) {
  let failed = false;
  function step(name, fn) {
    it(name, async (t) => {
      if (failed) {
        t.skip('an earlier step failed');
        return;
      }
      try {
        await fn();
      } catch (e) {
        failed = true;
        const app = current();
        if (app?.driver) {
          try {
            const slug = name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
            const png = await app.screenshot(`FAILED-${slug}`);
            fs.writeFileSync(png.replace(/\.png$/, '.html'), await app.pageSource());
            t.diagnostic(`screenshot of the failure: ${png}`);
          } catch {
            // the session itself may be gone
          }
        }
        throw e;
      }
    });
  }
  step.failed = () => failed;
  return step;
}

/** First run: the first administrator's form, then Home. */
export async function setupAdmin(app, admin) {
  await app.visible('setup-fullname', FIRST_WAIT);
  await app.fill('setup-fullname', admin.fullName);
  await app.fill('setup-username', admin.username);
  await app.fill('setup-password', admin.password);
  await app.fill('setup-confirm', admin.password);
  await app.click('setup-submit');
  await app.visible('nav');
  await app.visible('home-title');
}

export async function signIn(app, admin) {
  await app.visible('signin-username', FIRST_WAIT);
  await app.fill('signin-username', admin.username);
  await app.fill('signin-password', admin.password);
  await app.click('signin-submit');
  await app.visible('nav');
}
