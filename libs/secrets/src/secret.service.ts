import { Injectable } from '@nestjs/common';
import { InvalidInputError, NotFoundError } from '#libs/contracts';
import { CredentialCipher, type OrgClaims } from '#libs/registry';
import { isDeniedEnvironmentName } from '#libs/tasks';
import { SECRET_NAME, SECRET_VALUE_MAX_BYTES } from './secret-names.js';
import { SecretRepository, type SecretSummary } from './secret.repository.js';

export class SecretNotFoundError extends NotFoundError {
  override name = 'SecretNotFoundError';
}

/** A secret name or value that does not fit, or a task asking for secrets the org lacks. */
export class SecretInputError extends InvalidInputError {
  override name = 'SecretInputError';
}

/** What the sealed column holds, so the value is an object like every other sealed credential. */
interface SealedSecret {
  value: string;
}

/**
 * Org secrets: values encrypted at rest with ENCRYPTION_KEY, written by admins, listed by
 * name only, and opened only by the worker starting a task that asked for them.
 */
@Injectable()
export class SecretService {
  constructor(
    private readonly secrets: SecretRepository,
    private readonly cipher: CredentialCipher,
  ) {}

  /** Creates or replaces a secret. */
  async put(claims: OrgClaims, name: string, value: string): Promise<void> {
    if (!SECRET_NAME.test(name)) throw new SecretInputError([`name must match ${SECRET_NAME.source}`]);
    // A task receives the secret as a variable of this name: one that could change which code runs never would be given.
    if (isDeniedEnvironmentName(name))
      throw new SecretInputError([`name ${name} is a variable tasks may not set (see the README's Security section)`]);
    if (Buffer.byteLength(value) > SECRET_VALUE_MAX_BYTES)
      throw new SecretInputError([`value must be at most ${SECRET_VALUE_MAX_BYTES} bytes`]);
    await this.secrets.upsert(claims, name, this.cipher.encrypt({ value } satisfies SealedSecret));
  }

  list(claims: OrgClaims): Promise<SecretSummary[]> {
    return this.secrets.list(claims);
  }

  async delete(claims: OrgClaims, name: string): Promise<void> {
    if (!SECRET_NAME.test(name) || !(await this.secrets.delete(claims, name))) throw new SecretNotFoundError(`no secret ${name}`);
  }

  /** Refuses, naming them, the secrets of `names` the org does not have. */
  async requireExisting(claims: OrgClaims, names: string[]): Promise<void> {
    if (names.length === 0) return;
    const found = new Set(await this.secrets.existing(claims, names));
    const missing = names.filter((name) => !found.has(name));
    if (missing.length) throw new SecretInputError(missing.map((name) => `secrets: the org has no secret ${name}`));
  }

  /**
   * The values of `names`, decrypted, for the worker that is about to start a task; a
   * name the org no longer has is missing from the answer.
   */
  async reveal(orgId: string, names: string[]): Promise<Map<string, string>> {
    const sealed = await this.secrets.sealedValues(orgId, names);
    return new Map([...sealed].map(([name, text]) => [name, this.cipher.decrypt<SealedSecret>(text).value]));
  }
}
