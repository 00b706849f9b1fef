/** One identified key of a rotating setting (ENCRYPTION_KEY, JWT_SECRET). */
export interface IdentifiedKey<K> {
  id: string;
  key: K;
}

/** The id a setting's key has when it is given alone, without `id:` (the form from before keys rotated). */
export const DEFAULT_KEY_ID = 'default';

const KEY_ID = '[A-Za-z0-9_-]{1,32}';

/** `ENCRYPTION_KEY`: one 32-byte base64 key, or `id:key` pairs separated by commas (the first encrypts). */
export const ENCRYPTION_KEY_PATTERN = new RegExp(`^([A-Za-z0-9+/]{43}=|${KEY_ID}:[A-Za-z0-9+/]{43}=(,${KEY_ID}:[A-Za-z0-9+/]{43}=)*)$`);

/** The list form of `JWT_SECRET`: `id:secret` pairs (secrets of 32+ characters without commas or spaces). */
const JWT_SECRET_LIST = new RegExp(`^${KEY_ID}:[^,\\s]{32,}(,${KEY_ID}:[^,\\s]{32,})*$`);

/**
 * The keys of a rotating setting, first (the one that writes or signs) first. A single
 * value without `id:` is one key with id `default`; ids must be unique.
 */
export function parseKeyRing(value: string, listForm: RegExp): IdentifiedKey<string>[] {
  const keys = listForm.test(value)
    ? value.split(',').map((pair) => {
        const colon = pair.indexOf(':');
        return { id: pair.slice(0, colon), key: pair.slice(colon + 1) };
      })
    : [{ id: DEFAULT_KEY_ID, key: value }];
  const ids = new Set(keys.map(({ id }) => id));
  if (ids.size !== keys.length) throw new Error('key ids must be unique');
  return keys;
}

/** ENCRYPTION_KEY's keys as 32-byte buffers, the encrypting one first. */
export function encryptionKeys(value: string): IdentifiedKey<Buffer>[] {
  return parseKeyRing(value, /:/).map(({ id, key }) => ({ id, key: Buffer.from(key, 'base64') }));
}

/** JWT_SECRET's secrets as HMAC keys, the signing one first. */
export function jwtSecrets(value: string): IdentifiedKey<Uint8Array>[] {
  return parseKeyRing(value, JWT_SECRET_LIST).map(({ id, key }) => ({ id, key: new TextEncoder().encode(key) }));
}
