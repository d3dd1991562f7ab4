// Requests between areas for the clinical screens: open a patient's chart (from the queue or
// a patient's page), and book a follow-up (from a visit) with the patient and date preset.
// The shell switches area while one is pending; the area's screen takes it.

import type { PatientHit } from './bindings';

export interface ChartRequest {
  patientId: string;
  /** The queue's appointment the patient is seen for (a visit starts from it). */
  appointmentId: string | null;
}

export interface BookingRequest {
  patient: PatientHit;
  /** YYYY-MM-DD. */
  date: string;
  doctorId: string;
  /** Check the patient in now as a walk-in (the queue's walk-in form) instead of booking. */
  walkIn?: boolean;
}

class Pending<T> {
  pending = $state<T | null>(null);

  ask(request: T): void {
    this.pending = request;
  }

  /** The pending request, which is then gone. */
  take(): T | null {
    const request = this.pending;
    this.pending = null;
    return request;
  }
}

/** Open a chart. */
export const chartNav = new Pending<ChartRequest>();
/** Book an appointment for a patient (the follow-up of a visit, or from a patient's page), or check them in. */
export const bookingNav = new Pending<BookingRequest>();
