import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { encryptionKeys, PlatformConfig, type IdentifiedKey } from '#libs/config';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
/** `v1:<iv>:<tag>:<ciphertext>`: written before keys had ids; any configured key may open it. */
const UNIDENTIFIED_FORMAT = 'v1';
/** `v2:<key id>:<iv>:<tag>:<ciphertext>`. */
const IDENTIFIED_FORMAT = 'v2';

/**
 * Encrypts credentials and secrets at rest with AES-256-GCM under ENCRYPTION_KEY. Several
 * identified keys may be configured while one is rotated out: the first encrypts, every
 * one decrypts, and `isCurrent` tells what `npm run ops -- rotate-encryption-key` must redo.
 */
@Injectable()
export class CredentialCipher {
  private readonly keys: IdentifiedKey<Buffer>[];

  constructor(config: PlatformConfig) {
    if (!config.ENCRYPTION_KEY) throw new Error('ENCRYPTION_KEY must be resolved before the registry starts');
    this.keys = encryptionKeys(config.ENCRYPTION_KEY);
  }

  /** `v2:<key id>:<iv>:<tag>:<ciphertext>` under the first key, parts base64. */
  encrypt(value: object): string {
    const { id, key } = this.keys[0]!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv);
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return [IDENTIFIED_FORMAT, id, ...[iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64'))].join(':');
  }

  /** Decrypts what `encrypt` produced under any configured key; throws when no key opens it or the text was altered. */
  decrypt<T>(sealed: string): T {
    const parts = sealed.split(':');
    const [keyId, iv, tag, ciphertext] =
      parts[0] === IDENTIFIED_FORMAT && parts.length === 5
        ? parts.slice(1)
        : parts[0] === UNIDENTIFIED_FORMAT && parts.length === 4
          ? [undefined, ...parts.slice(1)]
          : [];
    if (!iv || !tag || !ciphertext) throw new Error('unknown credential format');
    // The named key first; the others too, since an id may have been renamed (a lone key's id is "default").
    const candidates = [...this.keys].sort((a, b) => Number(b.id === keyId) - Number(a.id === keyId));
    for (const { key } of candidates) {
      try {
        const decipher = createDecipheriv(ALGORITHM, key, Buffer.from(iv, 'base64'));
        decipher.setAuthTag(Buffer.from(tag, 'base64'));
        const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]);
        return JSON.parse(plain.toString('utf8')) as T;
      } catch {
        continue;
      }
    }
    throw new Error('no configured ENCRYPTION_KEY opens this credential');
  }

  /** True when `sealed` is already under the first key (by id), so rotation can leave it alone. */
  isCurrent(sealed: string): boolean {
    const [format, keyId] = sealed.split(':');
    return format === IDENTIFIED_FORMAT && keyId === this.keys[0]!.id;
  }
}
