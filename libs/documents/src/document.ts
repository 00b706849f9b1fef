/** Collection names: letters, digits, `_ . -`, 1 to 100 of them. */
export const COLLECTION_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
/** Document ids: letters, digits, `. _ : -`, 1 to 200 of them (a UUID when the creator gives none). */
export const DOCUMENT_ID = /^[A-Za-z0-9._:-]{1,200}$/;

/** One versioned JSON document of a collection. */
export interface StoredDocument {
  collection: string;
  id: string;
  data: Record<string, unknown>;
  /** 1 at creation, one more per write. */
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** A page of documents, newest first. */
export interface DocumentPage {
  items: StoredDocument[];
  nextCursor: string | null;
}

/**
 * Applies an RFC 7386 JSON merge patch: objects merge key by key, `null` removes a key,
 * anything else replaces what was there.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}
