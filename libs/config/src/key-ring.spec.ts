import { randomBytes } from 'node:crypto';
import { encryptionKeys, jwtSecrets } from './key-ring.js';
import { ConfigValidationError, loadPlatformConfig } from './load-config.js';

const KEY_A = randomBytes(32).toString('base64');
const KEY_B = randomBytes(32).toString('base64');

describe('rotating keys (ENCRYPTION_KEY, JWT_SECRET)', () => {
  it('reads a lone value as one key with id "default"', () => {
    expect(encryptionKeys(KEY_A)).toEqual([{ id: 'default', key: Buffer.from(KEY_A, 'base64') }]);
    expect(jwtSecrets('x'.repeat(40)).map(({ id }) => id)).toEqual(['default']);
  });

  it('reads id:key pairs in order, the writing key first', () => {
    expect(encryptionKeys(`k2:${KEY_B},default:${KEY_A}`).map(({ id, key }) => [id, key.toString('base64')])).toEqual([
      ['k2', KEY_B],
      ['default', KEY_A],
    ]);
    expect(jwtSecrets(`s2:${'b'.repeat(32)},s1:${'a'.repeat(32)}`).map(({ id }) => id)).toEqual(['s2', 's1']);
  });

  it('keeps a lone JWT secret whole when it is not a list of id:secret pairs', () => {
    const secret = 'has,a comma:and a colon but is one secret';
    expect(jwtSecrets(secret)).toEqual([{ id: 'default', key: new TextEncoder().encode(secret) }]);
  });

  it('refuses the same id twice', () => {
    expect(() => encryptionKeys(`k:${KEY_A},k:${KEY_B}`)).toThrow('key ids must be unique');
  });

  it('validates ENCRYPTION_KEY in either form at load time', () => {
    expect(loadPlatformConfig({ ENCRYPTION_KEY: `k2:${KEY_B},default:${KEY_A}` }).ENCRYPTION_KEY).toBe(`k2:${KEY_B},default:${KEY_A}`);
    for (const bad of ['short', `k2:${KEY_B},`, `bad id:${KEY_A}`]) {
      expect(() => loadPlatformConfig({ ENCRYPTION_KEY: bad })).toThrow(ConfigValidationError);
    }
  });
});
