// A process clock set back (or forward) for one launch of the app, for a flow that needs
// records made in the past (a patient registered two days ago): libfaketime, preloaded into
// tauri-driver, WebKitWebDriver and the app through their environment. The app itself has no
// test clock; only the processes of that launch see the shifted wall clock. Monotonic clocks
// are left alone (timeouts and the uptime-based clocks stay real).

import fs from 'node:fs';

const LIBRARIES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
  '/usr/local/lib/faketime/libfaketime.so.1',
];

/**
 * The environment that shifts the wall clock by `offset` (libfaketime's relative form:
 * "-2d", "+3h", "-90"), for `App`'s `env` option.
 */
export function fakeClock(offset) {
  const lib = process.env.HMS_FAKETIME_LIB || LIBRARIES.find((p) => fs.existsSync(p));
  if (!lib) {
    throw new Error('libfaketime not found: run `make deps` (apt package libfaketime) or set HMS_FAKETIME_LIB');
  }
  const preload = [lib, process.env.LD_PRELOAD].filter(Boolean).join(' ');
  return { LD_PRELOAD: preload, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_NO_CACHE: '1' };
}
