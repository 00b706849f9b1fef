import { keySlot } from './key-slot.js';

describe('keySlot: the hash slot Redis Cluster gives a key', () => {
  it('matches the slots Redis computes (CLUSTER KEYSLOT)', () => {
    // Values from the Redis Cluster specification and `redis-cli cluster keyslot`.
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('')).toBe(0);
  });

  it('hashes only the hash tag when the key has a non-empty one', () => {
    expect(keySlot('platform:{org:a}:events')).toBe(keySlot('org:a'));
    expect(keySlot('x:{org:a}:task:1')).toBe(keySlot('y:{org:a}:tasks'));
    expect(keySlot('a{}b')).toBe(keySlot('a{}b'));
    expect(keySlot('a{}{b}')).not.toBe(keySlot('b'));
  });
});
