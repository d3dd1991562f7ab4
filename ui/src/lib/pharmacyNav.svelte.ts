// A Pharmacy view asked for from elsewhere (Home's stock tile): the shell opens Pharmacy, which
// shows that view (when the user may see it) and clears the request, as reportsNav does.

export type PharmacyView = 'queue' | 'items' | 'receive' | 'orders' | 'moves' | 'take' | 'returns' | 'expiry' | 'setup';

class PharmacyNav {
  pending = $state<PharmacyView | null>(null);

  ask(view: PharmacyView): void {
    this.pending = view;
  }

  /** The request, which is then forgotten. */
  take(): PharmacyView | null {
    const v = this.pending;
    this.pending = null;
    return v;
  }
}

export const pharmacyNav = new PharmacyNav();
