import { describe, expect, it } from 'vitest';
import { fhirExportPercent } from './fhir';
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
