// Words for the backend's typed errors. The UI switches on `code` (and a validation error's
// `field` and `reason`), never on message text: the backend's messages are for logs.

import type { AppError, SyncFailure, ValidationReason } from './bindings';
import { formatDateTime, hasMessage, t } from './i18n';

/** Fields whose messages are worded like another field's. */
const FIELD_ALIASES: Record<string, string> = {
  new_password: 'password',
  // CSV import columns worded like the form's phone fields.
  phone: 'phones',
  phone2: 'phones',
};

/** `phones.2` (the third phone of a list) is worded like `phones`. */
function baseField(field: string): string {
  const name = field.replace(/\.\d+$/, '');
  return FIELD_ALIASES[name] ?? name;
}

/** The message for one rejected field: field-specific wording if there is one, else generic. */
export function validationMessage(field: string, reason: ValidationReason): string {
  const name = baseField(field);
  const specific = `validation.${name}.${reason}`;
  if (hasMessage(specific)) return t(specific);
  const generic = `validation.${reason}`;
  return hasMessage(generic) ? t(generic) : t('validation.invalid');
}

function entityLabel(entity: string): string {
  const key = `entity.${entity}`;
  return hasMessage(key) ? t(key) : entity;
}

/** A stored table in words ("patient" for `patients`), as the sync screens name it. */
function tableLabel(table: string): string {
  const key = `sync.entity.${table}`;
  return hasMessage(key) ? t(key).toLowerCase() : table;
}

/** A sentence for the person at the screen, for any error the backend returns. */
export function errorMessage(e: AppError): string {
  switch (e.code) {
    case 'validation':
      return validationMessage(e.detail.field, e.detail.reason);
    case 'forbidden':
      return t('errors.forbidden');
    case 'not_signed_in':
      return t('errors.not_signed_in');
    case 'session_locked':
      return t('errors.session_locked');
    case 'session_expired':
      return t('errors.session_expired');
    case 'password_change_required':
      return t('errors.password_change_required');
    case 'invalid_credentials':
      return t('errors.invalid_credentials');
    case 'retry_later':
      return t('errors.retry_later', { count: Math.max(1, Math.ceil(e.detail.seconds)) });
    case 'account_locked':
      return t('errors.account_locked', { until: formatDateTime(e.detail.until) });
    case 'account_inactive':
      return t('errors.account_inactive');
    case 'not_found':
      return t('errors.not_found', { entity: entityLabel(e.detail.entity) });
    case 'chart_restricted':
      return t('errors.chart_restricted');
    case 'already_set_up':
      return t('errors.already_set_up');
    case 'last_admin':
      return t('errors.last_admin');
    case 'clinical_warning':
      return t('errors.clinical_warning');
    case 'likely_duplicate':
      return t('errors.likely_duplicate');
    case 'attachment_corrupt':
      return t('errors.attachment_corrupt');
    case 'attachment_not_on_device':
      return t('errors.attachment_not_on_device');
    case 'printout_missing':
      return t('errors.printout_missing');
    case 'printout_changed':
      return t('errors.printout_changed');
    case 'sync':
      return syncFailureMessage(e.detail.failure);
    case 'storage':
      return t('errors.storage', { reference: e.detail.reference });
    case 'storage_full':
      return storageFullMessage(e.detail.what);
    case 'corrupt_record':
      return t('errors.corrupt_record', { entity: tableLabel(e.detail.table), id: e.detail.id });
    case 'not_a_backup':
      return t('errors.not_a_backup');
    case 'backup_truncated':
      return t('errors.backup_truncated', { file: e.detail.file });
    case 'backup_checksum_mismatch':
      return t('errors.backup_checksum_mismatch', { file: e.detail.file });
    case 'backup_corrupt':
      return t('errors.backup_corrupt', { what: e.detail.what });
    case 'backup_other_clinic':
      return t('errors.backup_other_clinic', { clinic: e.detail.clinic });
    case 'backup_newer_schema':
      return t('errors.backup_newer_schema');
    case 'backup_other_key':
      return t('errors.backup_other_key');
    case 'recovery_key_locked':
      return t('errors.recovery_key_locked', { until: formatDateTime(e.detail.until) });
    case 'database_key_missing':
      return t('errors.database_key_missing', { path: e.detail.path });
    case 'keystore_unavailable':
      return t('errors.keystore_unavailable', { reason: e.detail.reason });
    case 'internal':
      return t('errors.internal');
    default: {
      // A code the bindings do not name: one this UI already has words for, or one it does
      // not know at all (a newer backend). Still say something useful.
      const unknown: never = e;
      return unnamedCodeMessage(unknown);
    }
  }
}

/**
 * A write the full disk stopped, naming what was not saved: a table ("patient" for
 * `patients`), an audited entity ("bill") or the core's area ("clinical record" for
 * `clinical`); with nothing known, the sentence without a name.
 */
function storageFullMessage(what: string): string {
  const label = [`sync.entity.${what}`, `entity.${what}`, `errors.storage_full.what.${what}`].find(hasMessage);
  return label
    ? t('errors.storage_full', { what: t(label).toLowerCase() })
    : t('errors.storage_full_unnamed');
}

/** Why a sync failed (a `sync` error's `failure`); a failure this UI does not know yet is worded as a refusal. */
export function syncFailureMessage(failure: SyncFailure | string): string {
  const key = `errors.sync.${failure}`;
  return hasMessage(key) ? t(key) : t('errors.sync.server');
}

function unnamedCodeMessage(e: { code?: unknown }): string {
  const key = `errors.${String(e.code)}`;
  return hasMessage(key) ? t(key) : t('errors.unknown');
}

/**
 * The field errors of a validation error, `{ [field]: message }`, for forms to show next to
 * their fields. Empty for every other error.
 */
export function fieldErrors(e: AppError): Record<string, string> {
  if (e.code !== 'validation') return {};
  return { [e.detail.field]: validationMessage(e.detail.field, e.detail.reason) };
}

/**
 * Splits an error for a form with the given fields: messages for fields the form shows, and
 * one form-level message for anything else (another code, or a field the form does not have).
 */
export function formErrors(
  e: AppError,
  formFields: readonly string[],
): { fields: Record<string, string>; form: string | null } {
  const fields = fieldErrors(e);
  const shown: Record<string, string> = {};
  let form: string | null = null;
  for (const [field, message] of Object.entries(fields)) {
    if (formFields.includes(field)) shown[field] = message;
    else form = message;
  }
  if (e.code !== 'validation') form = errorMessage(e);
  return { fields: shown, form };
}

/** Errors that end or suspend the session: the app handles them (lock overlay, sign-in). */
export function isSessionError(e: AppError): boolean {
  return e.code === 'session_locked' || e.code === 'session_expired' || e.code === 'not_signed_in';
}
