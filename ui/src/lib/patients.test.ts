import { describe, expect, it } from 'vitest';
import type { Mapping, Patient } from './bindings';
import { validationMessage } from './errors';
import { formatDate, setFormats } from './i18n';
import {
  addAllergy,
  ageText,
  ageYears,
  bytesToBase64,
  can,
  columnField,
  duplicateCheckReady,
  emptyForm,
  formField,
  formFromPatient,
  formFromSearch,
  isSearchShortcut,
  isTypingTarget,
  localProblems,
  parseAge,
  patientName,
  percent,
  rejectReason,
  setColumnField,
  dateFormatLabel,
  dateReadingOf,
  statusBadge,
  toPatientInput,
  type KeyLike,
  type PatientForm,
} from './patients';

/** 4 March 2026, local time. */
const TODAY = new Date(2026, 2, 4);

function patient(patch: Partial<Patient> = {}): Patient {
  return {
    id: 'p1',
    mrn: 'K7Q2-000123',
    given_name: 'Ravi',
    family_name: 'Sharma',
    other_names: 'Kumar',
    sex: 'male',
    birth_date: '1980-04-02',
    birth_date_estimated: false,
    phones: ['9845012345'],
    address: '',
    city: '',
    district: '',
    national_id: '',
    insurance_id: '',
    emergency_name: '',
    emergency_phone: '',
    emergency_relation: '',
    blood_group: 'B+',
    allergies: ['Penicillin'],
    notes: '',
    status: 'active',
    merged_into: null,
    legacy_mrn: '',
    last_visit_at: null,
    created_at: '2026-03-01T10:00:00Z',
    updated_at: '2026-03-01T10:00:00Z',
    ...patch,
  };
}

function form(patch: Partial<PatientForm> = {}): PatientForm {
  return { ...emptyForm(), ...patch };
}

describe('age', () => {
  it('counts whole years, turning on the birthday', () => {
    expect(ageYears('1980-03-04', TODAY)).toBe(46);
    expect(ageYears('1980-03-05', TODAY)).toBe(45);
    expect(ageYears('2026-03-05', TODAY)).toBeNull(); // in the future
    expect(ageYears('not a date', TODAY)).toBeNull();
  });

  it('turns on the birthday at the clinic\'s midnight, not this computer\'s', () => {
    // 20:00 UTC on 4 March is already 5 March in Kolkata, still 4 March in New York.
    const evening = new Date('2026-03-04T20:00:00Z');
    try {
      setFormats({ locale: 'en-IN', hour_cycle: 'h24', time_zone: 'Asia/Kolkata' });
      expect(ageYears('1980-03-05', evening)).toBe(46);
      expect(ageText({ birth_date: '2026-02-05', birth_date_estimated: false }, evening)).toBe('1 mo');
      setFormats({ locale: 'en-US', hour_cycle: 'h24', time_zone: 'America/New_York' });
      expect(ageYears('1980-03-05', evening)).toBe(45);
      expect(ageText({ birth_date: '2026-02-05', birth_date_estimated: false }, evening)).toBe('27 d');
    } finally {
      setFormats({ locale: 'en-US', hour_cycle: 'h24', time_zone: null });
    }
  });

  it('shows years, "~" for an estimate, months and days for a baby', () => {
    expect(ageText({ birth_date: '1980-04-02', birth_date_estimated: false }, TODAY)).toBe('45 y');
    expect(ageText({ birth_date: '1980-07-01', birth_date_estimated: true }, TODAY)).toBe('~45 y');
    expect(ageText({ birth_date: '2025-07-20', birth_date_estimated: false }, TODAY)).toBe('7 mo');
    expect(ageText({ birth_date: '2026-02-20', birth_date_estimated: false }, TODAY)).toBe('12 d');
    expect(ageText({ birth_date: '2026-03-04', birth_date_estimated: false }, TODAY)).toBe('0 d');
  });

  it("falls back to the backend's age and is empty when nothing is known", () => {
    expect(ageText({ birth_date: null, birth_date_estimated: false, age_years: 30 }, TODAY)).toBe('30 y');
    expect(ageText({ birth_date: null, birth_date_estimated: true, age_years: 30 }, TODAY)).toBe('~30 y');
    expect(ageText({ birth_date: null, birth_date_estimated: false, age_years: null }, TODAY)).toBe('');
  });

  it('formats a date of birth as that calendar day', () => {
    // en-US (this file's locale): month first.
    expect(formatDate('1980-04-02')).toBe('04/02/1980');
    expect(formatDate('')).toBe('');
  });
});

describe('display', () => {
  it('joins the names and badges records that are not active', () => {
    expect(patientName(patient())).toBe('Ravi Kumar Sharma');
    expect(patientName(patient({ other_names: ' ', family_name: '' }))).toBe('Ravi');
    expect(statusBadge('active')).toBeNull();
    expect(statusBadge('deceased')?.label).toBe('Deceased');
    expect(statusBadge('moved')?.label).toBe('Moved');
    expect(statusBadge('merged')?.label).toBe('Merged');
  });

  it('checks permissions of the session', () => {
    const session = { permissions: ['patients_view', 'patients_edit'] as const };
    expect(can({ permissions: [...session.permissions] }, 'patients_edit')).toBe(true);
    expect(can({ permissions: [...session.permissions] }, 'patients_merge')).toBe(false);
  });
});

describe('the search shortcut', () => {
  const key = (patch: Partial<KeyLike>): KeyLike => ({
    key: 'k',
    ctrlKey: false,
    metaKey: false,
    altKey: false,
    shiftKey: false,
    target: null,
    ...patch,
  });
  const input = { tagName: 'INPUT' } as unknown as EventTarget;
  const textarea = { tagName: 'textarea' } as unknown as EventTarget;
  const select = { tagName: 'SELECT' } as unknown as EventTarget;
  const editable = { tagName: 'DIV', isContentEditable: true } as unknown as EventTarget;
  const button = { tagName: 'BUTTON' } as unknown as EventTarget;

  it('is Ctrl+K or ⌘K anywhere, even in a field', () => {
    expect(isSearchShortcut(key({ ctrlKey: true }))).toBe(true);
    expect(isSearchShortcut(key({ key: 'K', ctrlKey: true }))).toBe(true);
    expect(isSearchShortcut(key({ metaKey: true, target: input }))).toBe(true);
    expect(isSearchShortcut(key({}))).toBe(false);
    expect(isSearchShortcut(key({ ctrlKey: true, shiftKey: true }))).toBe(false);
    expect(isSearchShortcut(key({ ctrlKey: true, altKey: true }))).toBe(false);
  });

  it('is "/" only outside text fields', () => {
    expect(isSearchShortcut(key({ key: '/' }))).toBe(true);
    expect(isSearchShortcut(key({ key: '/', target: button }))).toBe(true);
    for (const target of [input, textarea, select, editable]) {
      expect(isTypingTarget(target)).toBe(true);
      expect(isSearchShortcut(key({ key: '/', target }))).toBe(false);
    }
    expect(isSearchShortcut(key({ key: '/', ctrlKey: true }))).toBe(false);
  });
});

describe('the registration form', () => {
  it('drops blank phones and remembers which row each phone came from', () => {
    const { input, phoneRows } = toPatientInput(form({ given_name: ' Asha ', phones: ['', ' 98450 12345 ', '  ', '+91 99001 23456'] }), TODAY);
    expect(input.given_name).toBe('Asha');
    expect(input.phones).toEqual(['98450 12345', '+91 99001 23456']);
    expect(phoneRows).toEqual([1, 3]);
    // The backend's phones.1 is the form's fourth row.
    expect(formField('phones.1', phoneRows)).toBe('phones.3');
    expect(formField('phones.0', phoneRows)).toBe('phones.1');
    expect(formField('phones.7', phoneRows)).toBe('phones');
    expect(formField('given_name', phoneRows)).toBe('given_name');
  });

  it('sends the date of birth, or the age when the date is unknown', () => {
    const dob = toPatientInput(form({ given_name: 'A', birth_date: '1990-01-31', age_years: '40' }), TODAY).input;
    expect(dob.birth_date).toBe('1990-01-31');
    expect(dob.age_years).toBeNull();

    const age = toPatientInput(form({ given_name: 'A', dob_known: false, birth_date: '1990-01-31', age_years: ' 40 ' }), TODAY).input;
    expect(age.birth_date).toBeNull();
    expect(age.age_years).toBe(40);

    const neither = toPatientInput(form({ given_name: 'A' }), TODAY).input;
    expect(neither.birth_date).toBeNull();
    expect(neither.age_years).toBeNull();
  });

  it('sends the city and district trimmed, and an edit starts from the record\'s', () => {
    const input = toPatientInput(form({ given_name: 'A', city: '  Hoskote ', district: ' Bengaluru Rural ' }), TODAY).input;
    expect([input.city, input.district]).toEqual(['Hoskote', 'Bengaluru Rural']);
    const edit = formFromPatient(patient({ city: 'Mysuru', district: 'Mysuru' }), TODAY);
    expect([edit.city, edit.district]).toEqual(['Mysuru', 'Mysuru']);
    expect(emptyForm().city).toBe('');
  });

  it('checks the typed age before sending', () => {
    expect(parseAge('')).toBeNull();
    expect(parseAge('7')).toBe(7);
    expect(parseAge('-3')).toBe('invalid');
    expect(parseAge('4.5')).toBe('invalid');
    expect(localProblems(form({ dob_known: false, age_years: 'abc' }))).toEqual({ age_years: validationMessage('age_years', 'invalid') });
    expect(localProblems(form({ dob_known: false, age_years: '131' }))).toEqual({
      age_years: validationMessage('age_years', 'out_of_range'),
    });
    expect(localProblems(form({ dob_known: false, age_years: '130' }))).toEqual({});
    expect(localProblems(form({ dob_known: true, age_years: 'abc' }))).toEqual({});
  });

  it('prefills an edit, keeping an estimated birth year when the age is left alone', () => {
    const exact = formFromPatient(patient(), TODAY);
    expect(exact.dob_known).toBe(true);
    expect(exact.birth_date).toBe('1980-04-02');
    expect(exact.phones).toEqual(['9845012345']);
    expect(toPatientInput(exact, TODAY).input.birth_date).toBe('1980-04-02');

    // Estimated as 1 July 1980: 45 in March 2026. Re-sending 45 would make it 1981.
    const estimated = formFromPatient(patient({ birth_date: '1980-07-01', birth_date_estimated: true }), TODAY);
    expect(estimated.dob_known).toBe(false);
    expect(estimated.age_years).toBe('45');
    expect(toPatientInput(estimated, TODAY).input.age_years).toBe(46);
    // A changed age is sent as typed.
    expect(toPatientInput({ ...estimated, age_years: '50' }, TODAY).input.age_years).toBe(50);

    expect(formFromPatient(patient({ phones: [] }), TODAY).phones).toEqual(['']);
  });

  it('looks for duplicates once there is a name and a phone, id or date of birth', () => {
    expect(duplicateCheckReady(form({ phones: ['9845012345'] }))).toBe(false);
    expect(duplicateCheckReady(form({ given_name: 'Ravi' }))).toBe(false);
    expect(duplicateCheckReady(form({ given_name: 'Ravi', phones: ['98450'] }))).toBe(false);
    expect(duplicateCheckReady(form({ given_name: 'Ravi', phones: ['', '98450 1'] }))).toBe(true);
    expect(duplicateCheckReady(form({ given_name: 'Ravi', national_id: '1234 5678' }))).toBe(true);
    expect(duplicateCheckReady(form({ given_name: 'Ravi', birth_date: '1980-04-02' }))).toBe(true);
    expect(duplicateCheckReady(form({ given_name: 'Ravi', birth_date: '1980-04-02', dob_known: false }))).toBe(false);
  });

  it('adds allergies once, ignoring case and spaces', () => {
    expect(addAllergy([], ' Penicillin ')).toEqual(['Penicillin']);
    expect(addAllergy(['Penicillin'], 'penicillin')).toEqual(['Penicillin']);
    expect(addAllergy(['Penicillin'], '   ')).toEqual(['Penicillin']);
    expect(addAllergy(['Penicillin'], 'Sulfa   drugs')).toEqual(['Penicillin', 'Sulfa drugs']);
  });

  it('words field errors, the n-th phone like any phone', () => {
    expect(validationMessage('phones.3', 'invalid')).toBe(validationMessage('phones', 'invalid'));
    expect(validationMessage('phones.3', 'invalid')).toMatch(/6 to 15 digits/);
    expect(validationMessage('given_name', 'required')).toBe('Enter the given name.');
    expect(rejectReason({ field: 'phone2', reason: 'invalid' })).toBe(validationMessage('phones', 'invalid'));
    expect(rejectReason({ field: 'legacy_mrn', reason: 'taken' })).toMatch(/old file number/);
  });
});

describe('files', () => {
  it('encodes bytes as base64, in chunks for large files', () => {
    const ascii = (text: string) => new TextEncoder().encode(text);
    expect(bytesToBase64(new Uint8Array())).toBe('');
    expect(bytesToBase64(ascii('Man'))).toBe('TWFu');
    expect(bytesToBase64(ascii('Ma'))).toBe('TWE=');
    expect(bytesToBase64(ascii('Zoë'))).toBe('Wm/Dqw=='); // UTF-8 bytes, not characters
    expect(bytesToBase64(new Uint8Array([0, 255, 128]))).toBe('AP+A');
    // 1 MB of every byte value: would overflow the stack if spread in one call.
    const big = new Uint8Array(1_000_003).map((_, i) => (i * 7) % 256);
    const decoded = atob(bytesToBase64(big));
    expect(decoded.length).toBe(big.length);
    const firstDifference = big.findIndex((byte, i) => decoded.charCodeAt(i) !== byte);
    expect(firstDifference).toBe(-1);
  });

  it('reports progress as a whole percentage', () => {
    expect(percent(0, 0)).toBe(0);
    expect(percent(5000, 12000)).toBe(42);
    expect(percent(12000, 12000)).toBe(100);
  });
});

describe('the CSV column mapping', () => {
  const mapping: Mapping = {
    columns: [
      { column: 0, field: 'full_name' },
      { column: 1, field: 'phone' },
      { column: 2, field: 'ignore' },
    ],
    date_format: null,
  };

  it('reads a column, ignoring columns the mapping does not name', () => {
    expect(columnField(mapping, 1)).toBe('phone');
    expect(columnField(mapping, 3)).toBe('ignore');
  });

  it('sets a column, covering every column of the file', () => {
    const next = setColumnField(mapping, 4, 2, 'birth_date');
    expect(next.columns).toEqual([
      { column: 0, field: 'full_name' },
      { column: 1, field: 'phone' },
      { column: 2, field: 'birth_date' },
      { column: 3, field: 'ignore' },
    ]);
    expect(mapping.columns[2]!.field).toBe('ignore'); // not changed in place
  });

  it('gives a field to one column only', () => {
    const next = setColumnField(mapping, 3, 2, 'phone');
    expect(next.columns.map((c) => c.field)).toEqual(['full_name', 'ignore', 'phone']);
    // Several columns may be ignored.
    const ignored = setColumnField(next, 3, 0, 'ignore');
    expect(ignored.columns.map((c) => c.field)).toEqual(['ignore', 'ignore', 'phone']);
  });

  it('lets several columns make the address and keeps the chosen date reading', () => {
    const withDates: Mapping = { ...mapping, date_format: 'month_day_year' };
    const street = setColumnField(withDates, 4, 2, 'address');
    const city = setColumnField(street, 4, 3, 'address');
    expect(city.columns.map((c) => c.field)).toEqual(['full_name', 'phone', 'address', 'address']);
    expect(city.date_format).toBe('month_day_year');
    // Another column as the date of birth: its dates are read as its own values say.
    expect(setColumnField(city, 4, 3, 'birth_date').date_format).toBeNull();
  });

  it('does not mix a full name with given or family names', () => {
    const given = setColumnField(mapping, 3, 2, 'given_name');
    expect(given.columns.map((c) => c.field)).toEqual(['ignore', 'phone', 'given_name']);
    const full = setColumnField(
      {
        columns: [{ column: 0, field: 'given_name' }, { column: 1, field: 'family_name' }, { column: 2, field: 'other_names' }],
        date_format: null,
      },
      4,
      3,
      'full_name',
    );
    expect(full.columns.map((c) => c.field)).toEqual(['ignore', 'ignore', 'other_names', 'full_name']);
  });
});

describe('date readings in the CSV preview', () => {
  const example = {
    raw: '05/02/2009',
    read: [
      { format: 'day_month_year' as const, date: '2009-02-05' },
      { format: 'month_day_year' as const, date: '2009-05-02' },
      { format: 'year_month_day' as const, date: null },
      { format: 'day_month_name' as const, date: null },
    ],
  };

  it('shows how each reading reads a value from the file', () => {
    expect(dateReadingOf(example, 'day_month_year')).toBe('2009-02-05');
    expect(dateReadingOf(example, 'month_day_year')).toBe('2009-05-02');
    expect(dateReadingOf(example, 'year_month_day')).toBeNull();
  });

  it('names every reading as the user knows it', () => {
    expect(dateFormatLabel('day_month_year')).toContain('DD/MM/YYYY');
    expect(dateFormatLabel('month_day_year')).toContain('MM/DD/YYYY');
    expect(dateFormatLabel('year_month_day')).toBe('YYYY-MM-DD');
    expect(dateFormatLabel('day_month_name')).toContain('DD-Mon-YYYY');
  });
});

describe('formFromSearch', () => {
  it('carries a searched name into the names, capitalised only when typed in lower case', () => {
    const f = formFromSearch('  ravi   kumar sharma ');
    expect([f.given_name, f.family_name]).toEqual(['Ravi', 'Kumar Sharma']);
    expect(formFromSearch('McDonald').given_name).toBe('McDonald');
    expect(formFromSearch("o'neil").given_name).toBe("O'neil");
    expect(formFromSearch('Zoë Núñez').family_name).toBe('Núñez');
  });
  it('carries a phone number into the first phone', () => {
    expect(formFromSearch('+255 754 123 456').phones).toEqual(['+255 754 123 456']);
    expect(formFromSearch('98450-12345').given_name).toBe('');
  });
  it('guesses nothing from an MRN or other text', () => {
    for (const q of ['YRF7-000123', 'A1', '', '12/03/1990']) {
      const f = formFromSearch(q);
      expect([f.given_name, f.family_name, f.phones]).toEqual(['', '', ['']]);
    }
  });
});
