import { describe, expect, it } from 'vitest';
import { FHIR_IMPORT_MAX_BYTES, type FhirImportReport_Serialize as FhirImportReport } from './bindings';
import {
  fhirCanImport,
  fhirCountRows,
  fhirCreatedTotal,
  fhirExportPercent,
  fhirFileTooBig,
  fhirImportPercent,
} from './fhir';
import { en } from './locales/en';

describe('fhir export progress', () => {
  it('is rows read of all rows, whole percents, never above 100', () => {
    expect(fhirExportPercent(null)).toBe(0);
    expect(fhirExportPercent({ rows_done: 0, rows_total: 0, resources: 1 })).toBe(0);
    expect(fhirExportPercent({ rows_done: 1, rows_total: 3, resources: 4 })).toBe(33);
    expect(fhirExportPercent({ rows_done: 3, rows_total: 3, resources: 9 })).toBe(100);
    expect(fhirExportPercent({ rows_done: 5, rows_total: 3, resources: 9 })).toBe(100);
  });

  it('has words for its screen and its audit action', () => {
    for (const key of ['fhir.export.title', 'fhir.export.start', 'fhir.export.done', 'fhir.export.failed', 'audit.act.fhir.export']) {
      expect((en as Record<string, string>)[key], key).toBeTruthy();
    }
  });
});

function report(over: Partial<FhirImportReport> = {}): FhirImportReport {
  return {
    written: false,
    files: 1,
    read: [],
    patients: 0,
    patients_new: 0,
    patients_matched: 0,
    patients_refused: 0,
    created: [],
    unchanged: 0,
    not_stored: [],
    problems: [],
    ...over,
  };
}

describe('fhir import', () => {
  it('is patients done of all, whole percents, 0 before the count', () => {
    expect(fhirImportPercent(null)).toBe(0);
    expect(fhirImportPercent({ patients_done: 0, patients_total: 0 })).toBe(0);
    expect(fhirImportPercent({ patients_done: 2, patients_total: 3 })).toBe(66);
    expect(fhirImportPercent({ patients_done: 3, patients_total: 3 })).toBe(100);
  });

  it("refuses a file above the core's limit before reading it, naming it and the limit", () => {
    expect(FHIR_IMPORT_MAX_BYTES).toBe(256 * 1024 * 1024);
    const small = { name: 'a.json', size: 1_000 };
    expect(fhirFileTooBig([small])).toBeNull();
    expect(fhirFileTooBig([small, { name: 'edge.ndjson', size: FHIR_IMPORT_MAX_BYTES }])).toBeNull();
    const text = fhirFileTooBig([small, { name: 'clinic.json', size: 2 * 1024 * 1024 * 1024 }]);
    expect(text).toContain('clinic.json');
    expect(text).toContain('2,048 MB');
    expect(text).toContain('256 MB');
  });

  it("lists HMS's records in words, patients first, and other systems' types as they are named", () => {
    const rows = fhirCountRows([
      { kind: 'visits', count: 3 },
      { kind: 'lab_tests', count: 1 },
      { kind: 'allergies', count: 1 },
      { kind: 'patients', count: 2 },
      { kind: 'lab_results', count: 5 },
      { kind: 'prescriptions', count: 0 },
    ]);
    expect(rows.map((r) => [r.label, r.count])).toEqual([
      ['Patients', 2],
      ['Visits', 3],
      ['Lab results', 5],
      ['Allergies', 1],
      ['Lab tests added to the catalogue (inactive)', 1],
    ]);
    const other = fhirCountRows([
      { kind: 'Observation (survey)', count: 4 },
      { kind: 'Claim', count: 1 },
    ]);
    expect(other.map((r) => r.label)).toEqual(['Claim', 'Observation (survey)']);
  });

  it('offers Import only for a preview that would create something', () => {
    expect(fhirCanImport(null)).toBe(false);
    expect(fhirCanImport(report())).toBe(false);
    const some = report({ created: [{ kind: 'patients', count: 1 }, { kind: 'visits', count: 2 }] });
    expect(fhirCreatedTotal(some)).toBe(3);
    expect(fhirCanImport(some)).toBe(true);
    expect(fhirCanImport({ ...some, written: true })).toBe(false);
  });

  it('has words for its screen, its file error and its audit action', () => {
    const keys = ['fhir.import.title', 'fhir.import.run', 'fhir.import.tooBig', 'validation.fhir_file.too_long', 'audit.act.fhir.import'];
    for (const key of keys) expect((en as Record<string, string>)[key], key).toBeTruthy();
  });
});
