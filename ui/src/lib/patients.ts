// What the Patients screens derive, build and check: ages, badges, the registration form's
// state and the PatientInput made from it, the search shortcut, file encoding and the CSV
// column mapping. Pure functions, tested without Tauri.

import type {
  DateExample_Serialize as DateExample,
  DateFormat,
  ImportField,
  Mapping,
  Patient,
  PatientHit,
  PatientInput,
  PatientStatus,
  Permission,
  RejectedRow,
  SessionInfo,
  Sex,
} from './bindings';
import { BLOOD_GROUPS as CORE_BLOOD_GROUPS, PATIENT_MAX_AGE_YEARS, PATIENT_MAX_PHONES } from './bindings';
import { validationMessage } from './errors';
import { clinicDay, t, type MessageKey } from './i18n';

// The limits are the core's (exported into bindings.ts), never copies.
export const MAX_PHONES = PATIENT_MAX_PHONES;
/** How many results the search box asks for (the backend allows up to 100). */
export const SEARCH_LIMIT = 50;
/** Wait after the last keystroke before searching (or checking for duplicates). */
export const SEARCH_DEBOUNCE_MS = 150;
export const DUPLICATE_DEBOUNCE_MS = 400;
export const MAX_AGE_YEARS = PATIENT_MAX_AGE_YEARS;

export const SEXES: readonly Sex[] = ['female', 'male', 'other', 'unknown'];
export const BLOOD_GROUPS: readonly string[] = CORE_BLOOD_GROUPS;

/** The fields a CSV column can hold, in the order the mapping select lists them. */
export const IMPORT_FIELDS: readonly ImportField[] = [
  'ignore',
  'full_name',
  'given_name',
  'other_names',
  'family_name',
  'sex',
  'birth_date',
  'age_years',
  'phone',
  'phone2',
  'address',
  'city',
  'district',
  'national_id',
  'insurance_id',
  'emergency_name',
  'emergency_phone',
  'emergency_relation',
  'blood_group',
  'allergies',
  'notes',
  'legacy_mrn',
];

/** Whether the session may do this (the backend checks every call again). */
export function can(session: Pick<SessionInfo, 'permissions'>, permission: Permission): boolean {
  return session.permissions.includes(permission);
}

// ------------------------------------------------------------------ display

/** "Ravi Kumar Sharma": given, other and family names. */
export function patientName(p: Pick<Patient, 'given_name' | 'other_names' | 'family_name'>): string {
  return [p.given_name, p.other_names, p.family_name].filter((s) => s.trim() !== '').join(' ');
}

export function sexLabel(sex: string): string {
  const key = `patients.sex.${sex}`;
  return SEXES.includes(sex as Sex) ? t(key as MessageKey) : sex;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDay(text: string | null | undefined): { y: number; m: number; d: number } | null {
  const match = text ? DAY.exec(text) : null;
  if (!match) return null;
  return { y: Number(match[1]), m: Number(match[2]), d: Number(match[3]) };
}

/**
 * Whole years, months and days from a birth date (`YYYY-MM-DD`) to `today` as a day in the
 * clinic's time zone (not this computer's: a birthday starts at the clinic's midnight); null if
 * unreadable or future.
 */
export function ageParts(birth: string | null | undefined, today: Date): { years: number; months: number; days: number } | null {
  const b = parseDay(birth);
  const now = parseDay(clinicDay(today));
  if (!b || !now) return null;
  let years = now.y - b.y;
  let months = now.m - b.m;
  let days = now.d - b.d;
  if (days < 0) {
    months -= 1;
    // Days in the month before today's month.
    days += new Date(Date.UTC(now.y, now.m - 1, 0)).getUTCDate();
  }
  if (months < 0) {
    years -= 1;
    months += 12;
  }
  if (years < 0) return null;
  return { years, months, days };
}

/** The year of `today` in the clinic's time zone. */
function clinicYear(today: Date): number {
  return Number(clinicDay(today).slice(0, 4));
}

/** Whole years from a birth date to `today`, as the backend counts them. */
export function ageYears(birth: string | null | undefined, today: Date): number | null {
  return ageParts(birth, today)?.years ?? null;
}

/**
 * The age as shown in lists and on the record: "45 y", "~45 y" when the date of birth is an
 * estimate, and months or days for a baby with a known date ("7 mo", "12 d"). '' when unknown.
 */
export function ageText(
  p: { birth_date?: string | null; birth_date_estimated: boolean; age_years?: number | null },
  today: Date = new Date(),
): string {
  const parts = ageParts(p.birth_date, today);
  if (p.birth_date_estimated) {
    const years = parts?.years ?? p.age_years;
    return years === null || years === undefined ? '' : t('patients.ageEstimated', { age: years });
  }
  if (!parts) {
    return p.age_years === null || p.age_years === undefined ? '' : t('patients.ageYears', { age: p.age_years });
  }
  if (parts.years >= 1) return t('patients.ageYears', { age: parts.years });
  if (parts.months >= 1) return t('patients.ageMonths', { age: parts.months });
  return t('patients.ageDays', { age: parts.days });
}

/** The badge for a record that is not active; null for an active one. */
export function statusBadge(status: PatientStatus): { kind: 'danger' | 'warning' | 'neutral'; label: string } | null {
  switch (status) {
    case 'deceased':
      return { kind: 'neutral', label: t('patients.status.deceased') };
    case 'moved':
      return { kind: 'warning', label: t('patients.status.moved') };
    case 'merged':
      return { kind: 'neutral', label: t('patients.status.merged') };
    default:
      return null;
  }
}

// ------------------------------------------------------------------ the search box's keys

/** What the shortcut test needs of a key event (a plain object in tests). */
export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  target: EventTarget | null;
}

/** Whether the event's target is somewhere the user types (where "/" is a character). */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!target || typeof target !== 'object') return false;
  const el = target as { tagName?: unknown; isContentEditable?: unknown };
  const tag = typeof el.tagName === 'string' ? el.tagName.toUpperCase() : '';
  return tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable === true;
}

/** Ctrl+K (⌘K) anywhere, or "/" outside a text field: go to the patient search box. */
export function isSearchShortcut(e: KeyLike): boolean {
  if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'k') return true;
  return e.key === '/' && !e.ctrlKey && !e.metaKey && !e.altKey && !isTypingTarget(e.target);
}

/**
 * Arrow keys in a list of search results under the search box: the row to focus next, the box
 * (ArrowUp from the first row), or undefined when the key does not move focus (let it through).
 * Home and End (first and last row) only where `homeEnd` is set.
 */
export function arrowTarget<T>(key: string, rows: readonly T[], index: number, box: T | undefined, homeEnd = false): T | undefined {
  switch (key) {
    case 'ArrowDown':
      return rows[Math.min(index + 1, rows.length - 1)];
    case 'ArrowUp':
      return index <= 0 ? box : rows[index - 1];
    case 'Home':
      return homeEnd ? rows[0] : undefined;
    case 'End':
      return homeEnd ? rows[rows.length - 1] : undefined;
    default:
      return undefined;
  }
}

// ------------------------------------------------------------------ the registration form

/** The form as typed: strings everywhere (an empty age is '', not 0). */
export interface PatientForm {
  given_name: string;
  family_name: string;
  other_names: string;
  sex: string;
  /** False: the date of birth is unknown and an age in years is typed instead. */
  dob_known: boolean;
  birth_date: string;
  age_years: string;
  /** One row per phone field shown (1 to 5); blank rows are not sent. */
  phones: string[];
  address: string;
  city: string;
  district: string;
  national_id: string;
  insurance_id: string;
  emergency_name: string;
  emergency_phone: string;
  emergency_relation: string;
  blood_group: string;
  allergies: string[];
  notes: string;
  /**
   * When editing a record whose date of birth is an estimate: the age first shown and the
   * estimated birth year. The backend turns an age into 1 July of (this year − age), so
   * re-sending the shown age before July would move the estimate by a year; an unchanged age
   * re-sends the age that yields the same year.
   */
  estimate: { age: string; year: number } | null;
}

export function emptyForm(): PatientForm {
  return {
    given_name: '',
    family_name: '',
    other_names: '',
    // "Unknown" is a valid answer at a busy desk; the select makes changing it one step.
    sex: 'unknown',
    dob_known: true,
    birth_date: '',
    age_years: '',
    phones: [''],
    address: '',
    city: '',
    district: '',
    national_id: '',
    insurance_id: '',
    emergency_name: '',
    emergency_phone: '',
    emergency_relation: '',
    blood_group: '',
    allergies: [],
    notes: '',
    estimate: null,
  };
}

/**
 * A new registration started from a search that found no one: what was searched carries over.
 * A phone number goes to the first phone; a name to the names (first word given, the rest
 * family; words typed all in lower case get a capital); anything else (an MRN, an id) is not
 * guessed at and leaves the form empty.
 */
export function formFromSearch(text: string): PatientForm {
  const form = emptyForm();
  const q = text.trim().replace(/\s+/g, ' ');
  if (/^\+?[\d][\d -]{5,}$/.test(q)) {
    form.phones = [q];
  } else if (/^[\p{L}][\p{L}\p{M} .'-]*$/u.test(q)) {
    const cap = (w: string) => (w === w.toLowerCase() ? w.charAt(0).toUpperCase() + w.slice(1) : w);
    const [given, ...family] = q.split(' ').map(cap);
    form.given_name = given ?? '';
    form.family_name = family.join(' ');
  }
  return form;
}

/** A record as the pickers and the booking form take it (a search hit), for "Book" and "Check in" from its page. */
export function hitOf(p: Patient): PatientHit {
  return {
    id: p.id,
    mrn: p.mrn,
    name: patientName(p),
    sex: p.sex,
    birth_date: p.birth_date,
    birth_date_estimated: p.birth_date_estimated,
    age_years: null,
    phone: p.phones[0] ?? null,
    last_visit_at: p.last_visit_at,
    status: p.status,
    matched: 'mrn',
  };
}

/** The form prefilled from a record, for Edit. */
export function formFromPatient(p: Patient, today: Date = new Date()): PatientForm {
  const estimated = p.birth_date_estimated && !!p.birth_date;
  const age = estimated ? ageYears(p.birth_date, today) : null;
  const year = parseDay(p.birth_date)?.y ?? null;
  return {
    given_name: p.given_name,
    family_name: p.family_name,
    other_names: p.other_names,
    sex: p.sex,
    dob_known: !estimated,
    birth_date: estimated ? '' : (p.birth_date ?? ''),
    age_years: age === null ? '' : String(age),
    phones: p.phones.length > 0 ? p.phones.slice(0, MAX_PHONES) : [''],
    address: p.address,
    city: p.city ?? '',
    district: p.district ?? '',
    national_id: p.national_id,
    insurance_id: p.insurance_id,
    emergency_name: p.emergency_name,
    emergency_phone: p.emergency_phone,
    emergency_relation: p.emergency_relation,
    blood_group: p.blood_group,
    allergies: [...p.allergies],
    notes: p.notes,
    estimate: estimated && age !== null && year !== null ? { age: String(age), year } : null,
  };
}

/** The typed age: a whole number, null when blank, 'invalid' for anything else. */
export function parseAge(text: string): number | null | 'invalid' {
  const s = text.trim();
  if (s === '') return null;
  if (!/^\d{1,3}$/.test(s)) return 'invalid';
  return Number(s);
}

/** Problems found before sending (the backend cannot be sent a malformed number). */
export function localProblems(form: PatientForm): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!form.dob_known) {
    const age = parseAge(form.age_years);
    if (age === 'invalid') problems.age_years = validationMessage('age_years', 'invalid');
    else if (age !== null && age > MAX_AGE_YEARS) problems.age_years = validationMessage('age_years', 'out_of_range');
  }
  return problems;
}

/**
 * The PatientInput for a form, and for each phone sent, the form row it came from (blank
 * rows are dropped, so the backend's `phones.1` may be the form's third row).
 */
export function toPatientInput(form: PatientForm, today: Date = new Date()): { input: PatientInput; phoneRows: number[] } {
  const phoneRows: number[] = [];
  const phones: string[] = [];
  form.phones.forEach((phone, row) => {
    if (phone.trim() === '') return;
    phones.push(phone.trim());
    phoneRows.push(row);
  });
  let ageYearsValue: number | null = null;
  if (!form.dob_known) {
    const age = parseAge(form.age_years);
    if (typeof age === 'number') {
      ageYearsValue = form.estimate && form.age_years.trim() === form.estimate.age ? clinicYear(today) - form.estimate.year : age;
    }
  }
  const input: PatientInput = {
    given_name: form.given_name.trim(),
    family_name: form.family_name.trim(),
    other_names: form.other_names.trim(),
    sex: form.sex,
    birth_date: form.dob_known && form.birth_date.trim() !== '' ? form.birth_date.trim() : null,
    age_years: ageYearsValue,
    phones,
    address: form.address,
    city: form.city.trim(),
    district: form.district.trim(),
    national_id: form.national_id.trim(),
    insurance_id: form.insurance_id.trim(),
    emergency_name: form.emergency_name.trim(),
    emergency_phone: form.emergency_phone.trim(),
    emergency_relation: form.emergency_relation.trim(),
    blood_group: form.blood_group,
    allergies: [...form.allergies],
    notes: form.notes,
  };
  return { input, phoneRows };
}

/** The form field a backend error names: `phones.k` of the input is the form's row phoneRows[k]. */
export function formField(field: string, phoneRows: readonly number[]): string {
  const m = /^phones\.(\d+)$/.exec(field);
  if (!m) return field;
  const row = phoneRows[Number(m[1])];
  return row === undefined ? 'phones' : `phones.${row}`;
}

/** The fields the form shows errors next to. */
export const FORM_FIELDS: readonly string[] = [
  'given_name',
  'family_name',
  'other_names',
  'sex',
  'birth_date',
  'age_years',
  'phones',
  ...Array.from({ length: MAX_PHONES }, (_, i) => `phones.${i}`),
  'address',
  'city',
  'district',
  'national_id',
  'insurance_id',
  'emergency_name',
  'emergency_phone',
  'emergency_relation',
  'blood_group',
  'allergies',
  'notes',
];

function digitCount(s: string): number {
  return (s.match(/\d/g) ?? []).length;
}

/**
 * Whether there is enough to look for duplicates: a given name and a whole phone number, an
 * id number or a date of birth (the backend compares phones, ids, and names with the same
 * date of birth).
 */
export function duplicateCheckReady(form: PatientForm): boolean {
  if (form.given_name.trim() === '') return false;
  const phone = form.phones.some((p) => digitCount(p) >= 6);
  const id = form.national_id.trim().length >= 3 || form.insurance_id.trim().length >= 3;
  const dob = form.dob_known && DAY.test(form.birth_date.trim());
  return phone || id || dob;
}

/** Adds an allergy (trimmed; none twice, ignoring case); the same list when there is nothing to add. */
export function addAllergy(list: readonly string[], text: string): string[] {
  const a = text.trim().replace(/\s+/g, ' ');
  if (a === '' || list.some((x) => x.toLowerCase() === a.toLowerCase())) return [...list];
  return [...list, a];
}

// ------------------------------------------------------------------ files and CSV import

/**
 * Base64 of a file's bytes. Built in chunks: spreading a large array into
 * String.fromCharCode at once overflows the call stack.
 */
export function bytesToBase64(bytes: Uint8Array): string {
  const CHUNK = 0x8000;
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) {
    parts.push(String.fromCharCode(...bytes.subarray(i, i + CHUNK)));
  }
  return btoa(parts.join(''));
}

export function importFieldLabel(field: ImportField): string {
  return t(`patients.field.${field}` as MessageKey);
}

/** The field of one column (ignored when the mapping does not name it). */
export function columnField(mapping: Mapping, column: number): ImportField {
  return mapping.columns.find((c) => c.column === column)?.field ?? 'ignore';
}

/** Fields that cannot be mapped together with `field` (the backend refuses a full name with given/family names). */
function conflicts(field: ImportField): ImportField[] {
  if (field === 'full_name') return ['given_name', 'family_name'];
  if (field === 'given_name' || field === 'family_name') return ['full_name'];
  return [];
}

/** Fields several columns may hold: address parts (street, city, PIN...) make one address. */
const REPEATABLE: readonly ImportField[] = ['ignore', 'address'];

/**
 * The mapping with `column` set to `field`, for a file of `columnCount` columns. A field
 * belongs to one column only (except address parts): another column holding it (or a
 * conflicting name field) becomes "ignore", so the mapping is always one the backend accepts.
 * The chosen date reading is kept unless the birth-date column changes.
 */
export function setColumnField(mapping: Mapping, columnCount: number, column: number, field: ImportField): Mapping {
  const clash = conflicts(field);
  const columns = Array.from({ length: columnCount }, (_, i) => {
    if (i === column) return { column: i, field };
    const current = columnField(mapping, i);
    const freed = !REPEATABLE.includes(field) && (current === field || clash.includes(current));
    return { column: i, field: freed ? ('ignore' as ImportField) : current };
  });
  // A reading chosen for one birth-date column is not applied to another.
  const datesMoved = field === 'birth_date' || columnField(mapping, column) === 'birth_date';
  return { columns, date_format: datesMoved ? null : (mapping.date_format ?? null) };
}

/** A date reading's name, as the user knows it (DD/MM/YYYY...). */
export function dateFormatLabel(format: DateFormat): string {
  return t(`patients.dateFormat.${format}` as MessageKey);
}

/** How one reading reads an example value (YYYY-MM-DD), or null when it cannot. */
export function dateReadingOf(example: DateExample, format: DateFormat): string | null {
  return example.read.find((r) => r.format === format)?.date ?? null;
}

/** A rejected row's reason in words (by field and reason code; the backend's text is a detail). */
export function rejectReason(row: Pick<RejectedRow, 'field' | 'reason'>): string {
  return validationMessage(row.field, row.reason);
}

/** Import progress as a whole percentage (0 when there is nothing to do). */
export function percent(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(100, Math.max(0, Math.round((done / total) * 100)));
}
