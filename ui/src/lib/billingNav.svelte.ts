// Requests to open the Billing area from elsewhere (a patient's page): the shell switches to
// Billing when one is pending, and the Billing screen takes it and opens the bill.

export type BillingRequest = { kind: 'patient'; patientId: string } | { kind: 'bill'; billId: string };

class BillingNav {
  /** The request waiting for the Billing screen; null once taken. */
  pending = $state<BillingRequest | null>(null);

  /** Opens the patient's open bill (a new one is started when there is none). */
  openPatientBill(patientId: string): void {
    this.pending = { kind: 'patient', patientId };
  }

  /** Opens one bill. */
  openBill(billId: string): void {
    this.pending = { kind: 'bill', billId };
  }

  /** The pending request, which is then gone. */
  take(): BillingRequest | null {
    const request = this.pending;
    this.pending = null;
    return request;
  }
}

export const billingNav = new BillingNav();
