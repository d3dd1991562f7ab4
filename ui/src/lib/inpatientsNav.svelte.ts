// Requests to open an inpatient's chart from elsewhere (the patient's page): the shell switches
// to Inpatients when one is pending, and the Inpatients screen takes it and opens the chart.

export interface InpatientChartRequest {
  patientId: string;
  admissionId: string;
}

class InpatientsNav {
  /** The request waiting for the Inpatients screen; null once taken. */
  pending = $state<InpatientChartRequest | null>(null);

  openChart(request: InpatientChartRequest): void {
    this.pending = request;
  }

  /** The pending request, which is then gone. */
  take(): InpatientChartRequest | null {
    const request = this.pending;
    this.pending = null;
    return request;
  }
}

export const inpatientsNav = new InpatientsNav();
