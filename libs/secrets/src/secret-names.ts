/** A secret's name: the environment variable a task receives it as (upper case, digits, `_`). */
export const SECRET_NAME = /^[A-Z_][A-Z0-9_]{0,127}$/;

/** Largest secret value, in bytes of UTF-8: enough for a key or certificate, small next to the environment's limits. */
export const SECRET_VALUE_MAX_BYTES = 65_536;

/** Secrets one task may ask for. */
export const SECRETS_PER_TASK_MAX = 50;
