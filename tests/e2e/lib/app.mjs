// One running instance of the app for the end-to-end tests: tauri-driver (its own process
// group: WebKitWebDriver and the app end with it) with HMS_DATA_DIR in its environment, a
// WebDriver session, and the small helpers the steps use (app.e2e.test.mjs imports the shared ones;
// every one polls visible state with a timeout).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Builder, By, error as wdError } from 'selenium-webdriver';
import { appBinary, onPath, pause, portOpen, stopGroup, killGroupNow } from './processes.mjs';

export const WAIT = 20_000; // every explicit wait
export const FIRST_WAIT = 60_000; // the first screen after launch (cold WebKit start under Xvfb)

export const byTestId = (id) => By.css(`[data-testid="${id}"]`);

/** WebDriver errors that pass once the page settles (re-rendered, covered, not yet interactable). */
export function isTransient(e) {
  return (
    e instanceof wdError.StaleElementReferenceError ||
    e instanceof wdError.ElementClickInterceptedError ||
    e instanceof wdError.ElementNotInteractableError
  );
}

/** Starts tauri-driver on `port` (and `port + 1` for WebKitWebDriver) in its own process group;
 * resolves when the port accepts connections. */
export async function startTauriDriver(env, port, logFile) {
  const bin = process.env.TAURI_DRIVER || onPath('tauri-driver', [path.join(os.homedir(), '.cargo', 'bin')]);
  if (!bin) throw new Error('tauri-driver not found: run `make deps` (cargo install tauri-driver --version "^2" --locked)');
  if (!onPath('WebKitWebDriver')) throw new Error('WebKitWebDriver not found: run `make deps` (apt package webkit2gtk-driver)');
  if (await portOpen(port)) {
    throw new Error(`port ${port} is already in use (another tauri-driver?); set HMS_E2E_PORT to a free port`);
  }
  const log = fs.openSync(logFile, 'a');
  const child = spawn(bin, ['--port', String(port), '--native-port', String(port + 1)], {
    env,
    stdio: ['ignore', log, log],
    detached: true,
  });
  fs.closeSync(log);
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  const deadline = Date.now() + WAIT;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`tauri-driver exited early (${JSON.stringify(exited)}); see ${logFile}`);
    if (await portOpen(port)) return child;
    await pause(100);
  }
  await stopGroup(child);
  throw new Error(`tauri-driver did not listen on 127.0.0.1:${port} within ${WAIT / 1000} s; see ${logFile}`);
}

export class App {
  /**
   * @param {{ name: string, dataDir: string, artifacts: string, port: number, env?: Record<string, string> }} options
   *   name: a short label for screenshots ("a", "b"); dataDir: HMS_DATA_DIR (kept by the caller);
   *   env: more environment for tauri-driver, the driver and the app (e.g. `fakeClock`'s).
   */
  constructor({ name, dataDir, artifacts, port, env = {} }) {
    this.name = name;
    this.env = env;
    this.dataDir = dataDir;
    this.artifacts = artifacts;
    this.port = port;
    /** @type {import('selenium-webdriver').WebDriver | null} */
    this.driver = null;
    this.tauriDriver = null;
  }

  async launch(shots) {
    const application = appBinary();
    if (!fs.existsSync(application)) {
      throw new Error(`app binary not found at ${application}: build it with \`make app\` or set HMS_APP_BIN`);
    }
    this.shots = shots;
    const env = { ...process.env, ...this.env, HMS_DATA_DIR: this.dataDir, HMS_EXPORTS_DIR: path.join(this.dataDir, 'exports'), HMS_NO_OPEN: '1' };
    delete env.HMS_DEMO; // first-run setup, not the demo hospital
    env.PATH = [env.PATH, path.join(os.homedir(), '.cargo', 'bin')].filter(Boolean).join(path.delimiter);
    this.tauriDriver = await startTauriDriver(env, this.port, path.join(this.artifacts, `tauri-driver-${this.name}.log`));
    this.driver = await new Builder()
      .usingServer(`http://127.0.0.1:${this.port}/`)
      .withCapabilities({ browserName: 'wry', 'tauri:options': { application } })
      .build();
    const url = await this.driver.getCurrentUrl();
    if (url.startsWith('http://localhost:1420')) {
      throw new Error(`${application} loads the dev server (${url}): rebuild it with \`make app\` (custom-protocol).`);
    }
    try {
      await this.driver.manage().window().setRect({ width: 1280, height: 800 });
    } catch {
      // not every driver can resize; the configured size applies then
    }
    return this;
  }

  /** Ends the session and the processes (the app exits; its data directory stays). */
  async quit() {
    if (this.driver) {
      try {
        await this.driver.quit();
      } catch {
        // the app may already be gone
      }
      this.driver = null;
    }
    await stopGroup(this.tauriDriver);
    this.tauriDriver = null;
  }

  /** For a process 'exit' handler. */
  killNow() {
    killGroupNow(this.tauriDriver);
  }

  /** The first displayed element with this data-testid (polled until `timeout`). */
  async visible(id, timeout = WAIT) {
    return this.driver.wait(
      async () => {
        for (const el of await this.driver.findElements(byTestId(id))) {
          try {
            if (await el.isDisplayed()) return el;
          } catch (e) {
            if (!isTransient(e)) throw e;
          }
        }
        return false;
      },
      timeout,
      `[${this.name}] [data-testid="${id}"] was not shown within ${timeout / 1000} s`,
    );
  }

  async centre(el) {
    await this.driver.executeScript('arguments[0].scrollIntoView({ block: "center" })', el);
  }

  /** Clicks the element once it is shown and enabled, retrying while covered or re-rendered. */
  async click(id, timeout = WAIT) {
    await this.driver.wait(
      async () => {
        try {
          const el = await this.visible(id, timeout);
          if (!(await el.isEnabled())) return false;
          await this.centre(el);
          await el.click();
          return true;
        } catch (e) {
          if (isTransient(e)) return false;
          throw e;
        }
      },
      timeout,
      `[${this.name}] could not click [data-testid="${id}"] within ${timeout / 1000} s`,
    );
  }

  /** Closes the toasts, which can cover the fields at the bottom right of a short page. */
  async dismissToasts() {
    for (const close of await this.driver.findElements(By.css('[data-testid="toast"] .toast-close'))) {
      try {
        await close.click();
      } catch (e) {
        if (!isTransient(e)) throw e;
      }
    }
    await this.until(
      async () => (await this.driver.findElements(By.css('[data-testid="toast"]'))).length,
      (n) => n === 0,
      WAIT,
      `[${this.name}] the toasts should close`,
    );
  }

  /** Types a value into a field (clearing it first) and checks the field holds it. */
  async fill(id, value) {
    const el = await this.visible(id);
    await this.centre(el);
    await el.click();
    await el.clear();
    await el.sendKeys(value);
    await this.driver.wait(
      async () => (await el.getAttribute('value')) === value,
      WAIT,
      `[${this.name}] [data-testid="${id}"] did not take the typed value`,
    );
  }

  /** Ticks a checkbox (the test id may be on the input or on a label around it). */
  async tick(id) {
    const el = await this.visible(id);
    const input = (await el.getTagName()).toLowerCase() === 'input' ? el : (await el.findElements(By.css('input')))[0];
    if (input && (await input.isSelected())) return;
    await this.click(id);
    if (input) await this.driver.wait(async () => input.isSelected(), WAIT, `[${this.name}] ${id} did not become ticked`);
  }

  async textOf(id) {
    return (await (await this.visible(id)).getText()).trim();
  }

  /** Waits until `read()` (which may throw transient errors) answers something `ok` accepts. */
  async until(read, ok, timeout, message) {
    let last;
    try {
      return await this.driver.wait(
        async () => {
          try {
            last = await read();
          } catch (e) {
            if (isTransient(e)) return false;
            throw e;
          }
          return ok(last) ? last || true : false;
        },
        timeout,
      );
    } catch (e) {
      if (e instanceof wdError.TimeoutError) {
        throw new Error(`[${this.name}] ${message} within ${timeout / 1000} s (last seen: ${JSON.stringify(last)})`);
      }
      throw e;
    }
  }

  async screenshot(label) {
    this.shots.n += 1;
    const file = path.join(this.artifacts, `${String(this.shots.n).padStart(2, '0')}-${this.name}-${label}.png`);
    fs.mkdirSync(this.artifacts, { recursive: true });
    fs.writeFileSync(file, await this.driver.takeScreenshot(), 'base64');
    return file;
  }

  async pageSource() {
    return this.driver.getPageSource();
  }
}
