// The clinic's billing currency (Tariff → invoice settings), for screens that show money
// without a bill of their own to say it (bill lists, the tariff). Asked once, kept after.

import { commands } from './bindings';
import { call } from './app.svelte';

class BillingCurrency {
  /** ISO 4217 code; INR until the settings are read. */
  code = $state('INR');
  private loaded = false;
  private loading: Promise<void> | null = null;

  /** Reads the settings once (again after a failure); later calls return at once. */
  ensure(): Promise<void> {
    if (this.loaded) return Promise.resolve();
    this.loading ??= (async () => {
      const r = await call(() => commands.getBillingSettings());
      if (r.status === 'ok') {
        this.code = r.data.currency;
        this.loaded = true;
      }
      this.loading = null;
    })();
    return this.loading;
  }

  /** After the settings were saved. */
  set(code: string): void {
    this.code = code;
    this.loaded = true;
  }
}

export const billingCurrency = new BillingCurrency();
