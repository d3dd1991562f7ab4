// Search-as-you-type for patients, shared by the patient search and the patient pickers
// (booking, walk-in, the billing desk): a search starts SEARCH_DEBOUNCE_MS after the last
// keystroke, or at once with run(). Responses can arrive out of order: only the latest
// request may change the results.

import { commands, type PatientHit } from './bindings';
import { call, type Outcome } from './app.svelte';
import { errorMessage } from './errors';
import { t } from './i18n';
import { LatestRequest } from './latestRequest';
import { SEARCH_DEBOUNCE_MS } from './patients';

export type PatientSearch = (query: string) => Promise<Outcome<PatientHit[]>>;

/** The backend's patient search, at most `limit` results. */
export function findPatients(query: string, limit: number): Promise<Outcome<PatientHit[]>> {
  return call(() => commands.searchPatients(query, limit));
}

export class PatientLookup {
  hits = $state<PatientHit[]>([]);
  /** The query the shown results are for ('' before any search). */
  searched = $state('');
  loading = $state(false);
  error = $state<string | null>(null);

  readonly #query: () => string;
  readonly #search: PatientSearch;
  readonly #latest = new LatestRequest();
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `query` reads what is in the search box now; `search` asks for its results. */
  constructor(query: () => string, search: PatientSearch) {
    this.#query = query;
    this.#search = search;
  }

  /** After a keystroke: search once typing pauses. */
  schedule = (): void => {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.run(), SEARCH_DEBOUNCE_MS);
  };

  /** Search now for what is in the box (an empty box clears the results). */
  run = async (): Promise<void> => {
    clearTimeout(this.#timer);
    const q = this.#query().trim();
    const isLatest = this.#latest.begin();
    if (q === '') {
      this.hits = [];
      this.searched = '';
      this.loading = false;
      this.error = null;
      return;
    }
    this.loading = true;
    const r = await this.#search(q);
    if (!isLatest()) return;
    this.loading = false;
    if (r.status === 'ok') {
      this.hits = r.data;
      this.searched = q;
      this.error = null;
    } else if (!r.handled) {
      this.error = t('patients.searchFailed', { reason: errorMessage(r.error) });
    }
  };

  /** The results for what is in the box now, searching first if they are not (Enter). */
  current = async (): Promise<PatientHit[]> => {
    if (this.#query().trim() !== this.searched || this.loading) await this.run();
    return this.hits;
  };

  /** Drops a search still waiting for the pause (the screen is closing). */
  dispose = (): void => {
    clearTimeout(this.#timer);
  };
}
