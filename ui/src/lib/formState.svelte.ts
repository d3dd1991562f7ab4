// The state every dialog form keeps while it is filled in and sent: the errors by field, the
// error that belongs to no field (shown above the fields), and whether it is saving.

import type { AppError } from './bindings';
import { call, type Outcome, type Result } from './app.svelte';
import { focusFirstInvalid, withoutField } from './forms';

/** What a failure says, split into errors by field and one for the form. */
export interface ErrorSplit {
  fields: Record<string, string>;
  form: string | null;
}

export class FormState {
  errors = $state<Record<string, string>>({});
  formError = $state<string | null>(null);
  saving = $state(false);

  /** Typing in a field clears what was said about it. */
  clearField = (field: string): void => {
    this.errors = withoutField(this.errors, field);
  };

  /** The same, and the form's error goes too. */
  clear = (field: string): void => {
    this.clearField(field);
    this.formError = null;
  };

  /** Problems found before sending: shown by their fields, focus on the first. */
  async reject(form: HTMLElement | undefined, problems: Record<string, string>): Promise<void> {
    this.formError = null;
    this.errors = problems;
    await focusFirstInvalid(form);
  }

  /**
   * Sends the form. A failure the app has not already acted on (a lock, a lost session) is
   * shown as `explain` splits it, with focus on the first field in error.
   */
  async save<T>(form: HTMLElement | undefined, send: () => Promise<Result<T>>, explain: (error: AppError) => ErrorSplit): Promise<Outcome<T>> {
    this.formError = null;
    this.errors = {};
    this.saving = true;
    const r = await call(send);
    this.saving = false;
    if (r.status === 'error' && !r.handled) {
      const split = explain(r.error);
      this.errors = split.fields;
      this.formError = split.form;
      await focusFirstInvalid(form);
    }
    return r;
  }
}
