import { describe, expect, it } from 'vitest';
import { whitelistLine } from '../harness/conf.js';

describe('the noban whitelist line', () => {
  it('names the in,out directions from v28.0 on (Core PR #27114); earlier versions reject them', () => {
    // v27.2 exits at start-up with "Invalid P2P permission: 'in'" on the directed form (test/matrix runs it).
    expect(whitelistLine('24.2.0')).toBe('whitelist=noban@127.0.0.1');
    expect(whitelistLine('27.2.0')).toBe('whitelist=noban@127.0.0.1');
    expect(whitelistLine('28.0.0')).toBe('whitelist=noban,in,out@127.0.0.1');
    expect(whitelistLine('29.0.0')).toBe('whitelist=noban,in,out@127.0.0.1');
  });
});
