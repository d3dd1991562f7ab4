// A report asked for from elsewhere (a Home tile): the shell opens Reports, whose report view
// takes the request (report, period, doctor) and clears it, as the backup tile asks for Backups.

import type { Preset, ReportId } from './bindings';

export interface ReportAsk {
  report: ReportId;
  preset: Preset;
  doctorId?: string | null;
  /** A custom range's dates (YYYY-MM-DD). */
  from?: string;
  to?: string;
}

class ReportsNav {
  pending = $state<ReportAsk | null>(null);

  ask(r: ReportAsk): void {
    this.pending = r;
  }

  /** The request, which is then forgotten. */
  take(): ReportAsk | null {
    const r = this.pending;
    this.pending = null;
    return r;
  }
}

export const reportsNav = new ReportsNav();
