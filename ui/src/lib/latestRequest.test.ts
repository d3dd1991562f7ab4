import { describe, expect, it } from 'vitest';
import { LatestRequest } from './latestRequest';

describe('LatestRequest', () => {
  it('lets only the newest request through, whatever order the answers come in', async () => {
    const latest = new LatestRequest();
    const shown: string[] = [];
    let release: Record<string, () => void> = {};
    const load = async (name: string) => {
      const isLatest = latest.begin();
      await new Promise<void>((resolve) => (release = { ...release, [name]: resolve }));
      if (isLatest()) shown.push(name);
    };
    const first = load('first');
    const second = load('second');
    release.second!();
    await second;
    release.first!();
    await first;
    expect(shown).toEqual(['second']);
  });

  it('cancel makes a request on its way stale', () => {
    const latest = new LatestRequest();
    const isLatest = latest.begin();
    expect(isLatest()).toBe(true);
    latest.cancel();
    expect(isLatest()).toBe(false);
    expect(latest.begin()()).toBe(true);
  });
});
