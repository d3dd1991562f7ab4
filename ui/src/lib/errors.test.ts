import { describe, expect, it } from 'vitest';
import type { AppError, ValidationReason } from './bindings';
import { errorMessage, fieldErrors, formErrors, isSessionError, validationMessage } from './errors';

/** One error of every code: the Record type makes the compiler list any code missing here. */
const SAMPLES: { [C in AppError['code']]: Extract<AppError, { code: C }> } = {
  validation: { code: 'validation', detail: { field: 'username', reason: 'taken', message: 'backend text 42' } },
  forbidden: { code: 'forbidden', detail: { permission: 'users.manage' } },
  not_signed_in: { code: 'not_signed_in' },
  session_locked: { code: 'session_locked' },
  session_expired: { code: 'session_expired' },
  password_change_required: { code: 'password_change_required' },
  invalid_credentials: { code: 'invalid_credentials' },
  retry_later: { code: 'retry_later', detail: { seconds: 30 } },
  account_locked: { code: 'account_locked', detail: { until: '2026-03-04T09:05:00Z' } },
  account_inactive: { code: 'account_inactive' },
  not_found: { code: 'not_found', detail: { entity: 'user' } },
  chart_restricted: { code: 'chart_restricted', detail: { patient_id: '0190c2a0-0000-7000-8000-0000000000a1' } },
  already_set_up: { code: 'already_set_up' },
  last_admin: { code: 'last_admin' },
  clinical_warning: { code: 'clinical_warning', detail: { warnings: [{ kind: 'allergy', subject: 'Penicillin', detail: 'severe: rash', reason: '' }] } },
  likely_duplicate: { code: 'likely_duplicate', detail: { matches: [{ id: 'p1', mrn: 'AB-000001', name: 'Ravi Sharma' }] } },
  attachment_corrupt: { code: 'attachment_corrupt', detail: { id: 'a1' } },
  attachment_not_on_device: { code: 'attachment_not_on_device', detail: { id: 'a2' } },
  printout_missing: { code: 'printout_missing', detail: { id: 'p1' } },
  printout_changed: { code: 'printout_changed', detail: { id: 'p2' } },
  sync: { code: 'sync', detail: { failure: 'offline', message: 'cannot reach the sync server: connection refused' } },
  storage: { code: 'storage', detail: { reference: '3F9A1C2B' } },
  storage_full: { code: 'storage_full', detail: { what: 'patients' } },
  corrupt_record: { code: 'corrupt_record', detail: { table: 'patients', id: 'p-1', field: 'sex' } },
  not_a_backup: { code: 'not_a_backup', detail: { why: '/media/usb holds no manifest.json' } },
  backup_truncated: { code: 'backup_truncated', detail: { file: 'hms.db' } },
  backup_checksum_mismatch: { code: 'backup_checksum_mismatch', detail: { file: 'attachments/ab/ab12' } },
  backup_corrupt: { code: 'backup_corrupt', detail: { what: 'the audit chain breaks at entry 12' } },
  backup_other_clinic: { code: 'backup_other_clinic', detail: { clinic: 'Hillside Clinic' } },
  backup_newer_schema: { code: 'backup_newer_schema', detail: { version: 31, supported: 25 } },
  backup_other_key: { code: 'backup_other_key' },
  recovery_key_locked: { code: 'recovery_key_locked', detail: { until: '2026-03-04T09:20:00Z' } },
  database_key_missing: { code: 'database_key_missing', detail: { path: '/home/desk/.local/share/org.hms.clinic/hms.db.key' } },
  keystore_unavailable: { code: 'keystore_unavailable', detail: { reason: 'the keystore is locked or refused access' } },
  internal: { code: 'internal', detail: { message: 'boom' } },
};

const REASONS: ValidationReason[] = ['required', 'too_short', 'too_long', 'invalid', 'weak_password', 'taken', 'out_of_range', 'needs_confirmation'];
const FIELDS = ['username', 'full_name', 'password', 'new_password', 'roles', 'user_id', 'idle_timeout_minutes', 'from', 'to', 'limit', 'unknown_field'];

/** A real sentence: not empty, not a code, not a dictionary key, no unfilled placeholder. */
function expectSentence(text: string, code: string) {
  expect(text.trim()).not.toBe('');
  expect(text).not.toBe(code);
  expect(text).not.toMatch(/^[a-z_]+(\.[a-z_]+)+$/); // an untranslated key
  expect(text).not.toMatch(/\{\w+\}/);
}

describe('errorMessage', () => {
  it.each(Object.values(SAMPLES))('words $code', (error) => {
    expectSentence(errorMessage(error), error.code);
  });

  it('gives each code its own wording', () => {
    const messages = Object.values(SAMPLES).map(errorMessage);
    expect(new Set(messages).size).toBe(messages.length);
  });

  it('never shows the backend message text', () => {
    expect(errorMessage(SAMPLES.storage)).toContain('(ref: 3F9A1C2B)');
    expect(errorMessage(SAMPLES.corrupt_record)).toContain('p-1');
    expect(errorMessage(SAMPLES.internal)).not.toContain('boom');
    expect(errorMessage(SAMPLES.validation)).not.toContain('backend text 42');
  });

  it('names what a full disk did not save, and says what to do', () => {
    const full = (what: string) => errorMessage({ code: 'storage_full', detail: { what } });
    expect(full('patients')).toContain('the patient could not be written');
    expect(full('payments')).toContain('the payment could not be written');
    expect(full('billing')).toContain('the bill could not be written');
    expect(full('clinical')).toContain('the clinical record could not be written');
    for (const what of ['patients', '', 'something_new']) {
      expect(full(what)).toMatch(/Free space on the disk/);
      expect(full(what)).toMatch(/saved before is safe/);
    }
    expect(full('')).toBe(full('something_new'));
  });

  it('says how long to wait and until when', () => {
    expect(errorMessage(SAMPLES.retry_later)).toContain('30 seconds');
    expect(errorMessage({ code: 'retry_later', detail: { seconds: 1 } })).toContain('1 second.');
    expect(errorMessage(SAMPLES.account_locked)).toMatch(/2026/);
  });

  it('names the missing entity', () => {
    expect(errorMessage(SAMPLES.not_found)).toContain('user');
    expect(errorMessage(SAMPLES.chart_restricted)).toBe('This chart is restricted to its care team.');
  });

  it('still says something for a code it does not know', () => {
    const future = { code: 'sync_conflict' } as unknown as AppError;
    expectSentence(errorMessage(future), 'sync_conflict');
  });
});

describe('validation messages', () => {
  it('words every field and reason', () => {
    for (const field of FIELDS) {
      for (const reason of REASONS) {
        expectSentence(validationMessage(field, reason), reason);
      }
    }
  });

  it('is specific where the form needs it', () => {
    expect(validationMessage('username', 'taken')).toMatch(/username/i);
    expect(validationMessage('password', 'too_short')).toMatch(/10/);
    expect(validationMessage('new_password', 'too_short')).toBe(validationMessage('password', 'too_short'));
    expect(validationMessage('idle_timeout_minutes', 'out_of_range')).toMatch(/240/);
    expect(validationMessage('roles', 'required')).toMatch(/role/i);
    // Emergency access needs a reason of at least 10 characters (core: BREAK_GLASS_REASON_MIN).
    expect(validationMessage('reason', 'too_short')).toBe('Give a reason of at least 10 characters.');
    expect(validationMessage('reason', 'required')).toBe('Say why.');
  });
});

describe('fieldErrors', () => {
  it('maps a validation error to its field', () => {
    const errors = fieldErrors({
      code: 'validation',
      detail: { field: 'full_name', reason: 'required', message: 'x' },
    });
    expect(Object.keys(errors)).toEqual(['full_name']);
    expect(errors.full_name).toBe(validationMessage('full_name', 'required'));
  });

  it('is empty for other errors', () => {
    expect(fieldErrors(SAMPLES.last_admin)).toEqual({});
    expect(fieldErrors(SAMPLES.invalid_credentials)).toEqual({});
  });
});

describe('formErrors', () => {
  it('puts a known field next to the field', () => {
    const split = formErrors(SAMPLES.validation, ['username', 'password']);
    expect(split.fields).toEqual({ username: validationMessage('username', 'taken') });
    expect(split.form).toBeNull();
  });

  it('puts a field the form does not show, or another code, at form level', () => {
    const other = formErrors(
      { code: 'validation', detail: { field: 'user_id', reason: 'invalid', message: 'x' } },
      ['username'],
    );
    expect(other.fields).toEqual({});
    expect(other.form).toBe(validationMessage('user_id', 'invalid'));
    const lastAdmin = formErrors(SAMPLES.last_admin, ['roles']);
    expect(lastAdmin.fields).toEqual({});
    expect(lastAdmin.form).toBe(errorMessage(SAMPLES.last_admin));
  });
});

describe('isSessionError', () => {
  it('is true only for errors that lock or end the session', () => {
    const session = Object.values(SAMPLES).filter(isSessionError).map((e) => e.code).sort();
    expect(session).toEqual(['not_signed_in', 'session_expired', 'session_locked']);
  });
});
