import { randomBytes } from 'node:crypto';
import { loadPlatformConfig } from '#libs/config';
import { CredentialCipher } from './credential-cipher.js';

const OLD = randomBytes(32).toString('base64');
const NEW = randomBytes(32).toString('base64');
const cipherWith = (ENCRYPTION_KEY: string) => new CredentialCipher(loadPlatformConfig({ ENCRYPTION_KEY }));

describe('CredentialCipher with identified keys', () => {
  it('encrypts with the first key, naming it, and decrypts with any configured key', () => {
    const old = cipherWith(OLD).encrypt({ password: 'p' });
    expect(old.startsWith('v2:default:')).toBe(true);
    const rotating = cipherWith(`k2:${NEW},default:${OLD}`);
    const fresh = rotating.encrypt({ password: 'q' });
    expect(fresh.startsWith('v2:k2:')).toBe(true);
    expect(rotating.decrypt(old)).toEqual({ password: 'p' });
    expect(rotating.decrypt(fresh)).toEqual({ password: 'q' });
    expect([rotating.isCurrent(old), rotating.isCurrent(fresh)]).toEqual([false, true]);
  });

  it('still reads v1 values written before keys had ids', () => {
    const legacy = cipherWith(OLD)
      .encrypt({ url: 'postgres://x' })
      .replace(/^v2:default:/, 'v1:');
    expect(cipherWith(`k2:${NEW},old:${OLD}`).decrypt(legacy)).toEqual({ url: 'postgres://x' });
  });

  it('refuses a value no configured key opens, and one that was altered', () => {
    const sealed = cipherWith(OLD).encrypt({ secret: 's' });
    expect(() => cipherWith(NEW).decrypt(sealed)).toThrow('no configured ENCRYPTION_KEY opens this credential');
    const parts = sealed.split(':');
    parts[4] = Buffer.from('tampered').toString('base64');
    expect(() => cipherWith(OLD).decrypt(parts.join(':'))).toThrow('no configured ENCRYPTION_KEY opens this credential');
    expect(() => cipherWith(OLD).decrypt('garbage')).toThrow('unknown credential format');
  });
});
