// The stale-response guard of every screen that loads as its inputs change (a day, a filter,
// a search box): responses may arrive out of order, and only the newest request may change
// what the screen shows.

export class LatestRequest {
  #latest = 0;

  /** Starts a request; the function it returns says whether it is still the newest one. */
  begin(): () => boolean {
    const mine = ++this.#latest;
    return () => mine === this.#latest;
  }

  /** Makes every request on its way stale (the screen was reset). */
  cancel(): void {
    this.#latest += 1;
  }
}
