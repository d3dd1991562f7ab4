// The widths of inputs whose text is a number or a time, not a stored text: how many
// characters such a value takes as typed. The core checks the value itself (its range, its
// limit in bindings.ts); these only stop runaway typing. Stored texts take their lengths from
// the core (`*_FIELDS` in bindings.ts), never from a literal (coreLimits.test.ts).

/** An amount as typed ("1,000,000.00"). */
export const AMOUNT_INPUT_CHARS = 16;
/** A consultation fee as typed. */
export const FEE_INPUT_CHARS = 14;
/** A time of day, HH:MM. */
export const TIME_INPUT_CHARS = 5;
/** A slot length in minutes. */
export const MINUTES_INPUT_CHARS = 3;
/** A tax rate in percent ("18.00"). */
export const RATE_INPUT_CHARS = 6;
/** A quantity. */
export const QUANTITY_INPUT_CHARS = 5;
/** What a search box takes (names, numbers, MRNs). */
export const SEARCH_INPUT_CHARS = 100;
/** What a filter of a list on screen takes. */
export const FILTER_INPUT_CHARS = 60;
