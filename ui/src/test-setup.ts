// Unit tests run in one known locale, whatever the machine's language.
import { beforeEach } from 'vitest';
import { setLocale } from './lib/i18n';

beforeEach(() => setLocale('en-US'));
