import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const FORMAT_VERSION = 'v1';

/** Encrypts database credentials at rest with AES-256-GCM under ENCRYPTION_KEY. */
@Injectable()
export class CredentialCipher {
  private readonly key: Buffer;

  constructor(config: PlatformConfig) {
    if (!config.ENCRYPTION_KEY) throw new Error('ENCRYPTION_KEY must be resolved before the registry starts');
    this.key = Buffer.from(config.ENCRYPTION_KEY, 'base64');
  }

  /** `v1:<iv>:<tag>:<ciphertext>`, each part base64. */
  encrypt(value: object): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key, iv);
    const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return [FORMAT_VERSION, iv, cipher.getAuthTag(), ciphertext]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64')))
      .join(':');
  }

  /** Decrypts what `encrypt` produced; throws when the key is wrong or the text was altered. */
  decrypt<T>(sealed: string): T {
    const [version, iv, tag, ciphertext] = sealed.split(':');
    if (version !== FORMAT_VERSION || !iv || !tag || !ciphertext) throw new Error('unknown credential format');
    const decipher = createDecipheriv(ALGORITHM, this.key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]);
    return JSON.parse(plain.toString('utf8')) as T;
  }
}
