/** Keys of the configuration store: letters, digits and `. _ : / -`, 1 to 200 of them. */
export const CONFIG_KEY = /^[A-Za-z0-9._:/-]{1,200}$/;

/** One configuration value with its version (one more per write) and who wrote it last. */
export interface ConfigEntry {
  key: string;
  value: unknown;
  version: number;
  updatedAt: string;
  /** Id of the token (or session's token) that wrote it last. */
  updatedBy: string | null;
}

/** What a conditional write requires of the current entry (`If-Match`, `If-None-Match: *`). */
export interface WriteCondition {
  /** The version the entry must have; `'*'`: the entry must exist. */
  ifMatch?: number | '*';
  /** The entry must not exist (create only). */
  ifNoneMatch?: '*';
}
