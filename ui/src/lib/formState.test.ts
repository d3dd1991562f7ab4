import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AppError } from './bindings';
import { app, type Result } from './app.svelte';
import { FormState, type ErrorSplit } from './formState.svelte';

const invalid: AppError = { code: 'validation', detail: { field: 'reason', reason: 'required', message: 'reason is required' } };

function explainByField(e: AppError): ErrorSplit {
  return e.code === 'validation' ? { fields: { [e.detail.field]: 'Say why.' }, form: null } : { fields: {}, form: 'Something went wrong.' };
}

describe('FormState', () => {
  afterEach(() => {
    app.phase = 'loading';
  });

  it('clear() drops one field error and the form error', () => {
    const form = new FormState();
    form.errors = { reason: 'Say why.', amount_minor: 'Too much.' };
    form.formError = 'The bill changed.';
    form.clear('reason');
    expect(form.errors).toEqual({ amount_minor: 'Too much.' });
    expect(form.formError).toBeNull();
  });

  it('clearField() drops one field error and keeps the form error', () => {
    const form = new FormState();
    form.errors = { reason: 'Say why.' };
    form.formError = 'The slot was taken.';
    form.clearField('reason');
    expect(form.errors).toEqual({});
    expect(form.formError).toBe('The slot was taken.');
  });

  it('reject() shows the problems found before sending', async () => {
    const form = new FormState();
    form.formError = 'old';
    await form.reject(undefined, { reason: 'Say why.' });
    expect(form.errors).toEqual({ reason: 'Say why.' });
    expect(form.formError).toBeNull();
    expect(form.saving).toBe(false);
  });

  it('save() is saving while the command runs, and clears old errors on success', async () => {
    const form = new FormState();
    form.errors = { reason: 'Say why.' };
    form.formError = 'old';
    let during = false;
    const r = await form.save(
      undefined,
      async (): Promise<Result<number>> => {
        during = form.saving;
        expect(form.errors).toEqual({});
        expect(form.formError).toBeNull();
        return { status: 'ok', data: 7 };
      },
      explainByField,
    );
    expect(during).toBe(true);
    expect(form.saving).toBe(false);
    expect(r).toEqual({ status: 'ok', data: 7 });
    expect(form.errors).toEqual({});
  });

  it('save() shows a failure as explained: by field, or for the form', async () => {
    const form = new FormState();
    const explain = vi.fn(explainByField);
    const r = await form.save(undefined, async (): Promise<Result<number>> => ({ status: 'error', error: invalid }), explain);
    expect(r.status).toBe('error');
    expect(explain).toHaveBeenCalledWith(invalid);
    expect(form.errors).toEqual({ reason: 'Say why.' });
    expect(form.formError).toBeNull();

    await form.save(undefined, async (): Promise<Result<number>> => ({ status: 'error', error: { code: 'last_admin' } }), explain);
    expect(form.errors).toEqual({});
    expect(form.formError).toBe('Something went wrong.');
  });

  it('save() leaves a failure the app acted on (the session locked) unexplained', async () => {
    app.phase = 'shell';
    const form = new FormState();
    const explain = vi.fn(explainByField);
    const r = await form.save(undefined, async (): Promise<Result<number>> => ({ status: 'error', error: { code: 'session_locked' } }), explain);
    expect(r).toMatchObject({ status: 'error', handled: true });
    expect(explain).not.toHaveBeenCalled();
    expect(form.saving).toBe(false);
    expect(form.formError).toBeNull();
  });
});
