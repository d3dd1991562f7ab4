import { describe, expect, it } from 'vitest';
import { USER_FIELDS } from './bindings';
import { tooLong } from './forms';

describe('a text past its limit', () => {
  it('names the limit and the length typed, so nothing has to be cut to say it', () => {
    expect(tooLong(USER_FIELDS.full_name, 105)).toBe(`At most ${USER_FIELDS.full_name} characters; this has 105.`);
    expect(tooLong(1000, 1234)).toBe('At most 1,000 characters; this has 1,234.');
  });
});
