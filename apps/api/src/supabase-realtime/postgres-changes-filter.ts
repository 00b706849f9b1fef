/** Operators of a `postgres_changes` filter (`column=op.value`), as PostgREST spells them. */
export const FILTER_OPERATORS = ['eq', 'neq', 'lt', 'lte', 'gt', 'gte', 'in', 'like', 'ilike', 'is'] as const;
export type FilterOperator = (typeof FILTER_OPERATORS)[number];

/** Most values one `in.(…)` list may hold. */
export const IN_LIST_MAX = 100;
/** Most conditions one filter may AND together. */
export const FILTER_CONDITIONS_MAX = 20;
const COLUMN = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** One condition of a filter. */
export interface FilterCondition {
  column: string;
  operator: FilterOperator;
  negated: boolean;
  /** The value as written (`in`: the list's values; `is`: null, true or false). */
  value: string | string[] | boolean | null;
  /** `like` / `ilike`: the pattern compiled. */
  pattern?: RegExp;
}

/** A filter string that cannot be read; its message says why. */
export class InvalidFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidFilterError';
  }
}

/** Splits on commas outside parentheses and double quotes: `a=in.(1,2),b=eq.3` is two conditions. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '"' && text[i - 1] !== '\\') quoted = !quoted;
    else if (!quoted && char === '(') depth++;
    else if (!quoted && char === ')') depth = Math.max(0, depth - 1);
    else if (!quoted && depth === 0 && char === ',') {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

const unquote = (value: string) =>
  value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;

/** `like` patterns: `%` or `*` match any run, `_` one character. */
function compileLike(pattern: string, caseInsensitive: boolean): RegExp {
  let source = '';
  for (const char of pattern) {
    if (char === '%' || char === '*') source += '.*';
    else if (char === '_') source += '.';
    else source += char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, caseInsensitive ? 'is' : 's');
}

function parseCondition(text: string): FilterCondition {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new InvalidFilterError(`"${text}" is not column=operator.value`);
  const column = text.slice(0, equals).trim();
  if (!COLUMN.test(column)) throw new InvalidFilterError(`"${column}" is not a column name`);
  let rest = text.slice(equals + 1);
  let negated = false;
  if (rest.startsWith('not.')) {
    negated = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf('.');
  const operator = (dot < 0 ? rest : rest.slice(0, dot)) as FilterOperator;
  if (!FILTER_OPERATORS.includes(operator))
    throw new InvalidFilterError(`unknown operator "${operator}" (use ${FILTER_OPERATORS.join(', ')}, optionally after not.)`);
  if (dot < 0) throw new InvalidFilterError(`operator ${operator} on ${column} needs a value`);
  const raw = rest.slice(dot + 1);
  switch (operator) {
    case 'in': {
      if (!raw.startsWith('(') || !raw.endsWith(')')) throw new InvalidFilterError(`in on ${column} takes a list: in.(a,b,c)`);
      const values = raw.slice(1, -1) === '' ? [] : splitTopLevel(raw.slice(1, -1)).map((value) => unquote(value.trim()));
      if (values.length > IN_LIST_MAX)
        throw new InvalidFilterError(`in on ${column} takes at most ${IN_LIST_MAX} values, not ${values.length}`);
      return { column, operator, negated, value: values };
    }
    case 'is': {
      const value = raw.toLowerCase();
      if (value !== 'null' && value !== 'true' && value !== 'false')
        throw new InvalidFilterError(`is on ${column} takes null, true or false`);
      return { column, operator, negated, value: value === 'null' ? null : value === 'true' };
    }
    case 'like':
    case 'ilike': {
      const value = unquote(raw);
      return { column, operator, negated, value, pattern: compileLike(value, operator === 'ilike') };
    }
    default:
      return { column, operator, negated, value: unquote(raw) };
  }
}

/** Reads a filter string: one or more `column=[not.]op.value` conditions joined by commas (AND). Empty means no filter. */
export function parseFilter(filter: string | undefined): FilterCondition[] {
  if (filter === undefined || filter.trim() === '') return [];
  const conditions = splitTopLevel(filter).map((part) => parseCondition(part.trim()));
  if (conditions.length > FILTER_CONDITIONS_MAX) throw new InvalidFilterError(`a filter takes at most ${FILTER_CONDITIONS_MAX} conditions`);
  return conditions;
}

/** The cell as text, the way a filter value is written: JSON for objects, the string itself otherwise. */
function asText(value: unknown): string {
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** Orders a cell against a filter value: numerically when both read as numbers, else as text. */
function compare(actual: unknown, expected: string): number {
  const left = typeof actual === 'number' ? actual : Number(asText(actual));
  const right = Number(expected);
  if (
    expected.trim() !== '' &&
    !Number.isNaN(left) &&
    !Number.isNaN(right) &&
    (typeof actual === 'number' || asText(actual).trim() !== '')
  ) {
    return left === right ? 0 : left < right ? -1 : 1;
  }
  const text = asText(actual);
  return text === expected ? 0 : text < expected ? -1 : 1;
}

function holds(condition: FilterCondition, actual: unknown): boolean {
  const { operator, value } = condition;
  if (operator === 'is') {
    if (value === null) return actual === null || actual === undefined;
    return actual === value || asText(actual) === String(value);
  }
  // As in SQL, a comparison with NULL is never true (and stays false under not.).
  if (actual === null || actual === undefined) return false;
  switch (operator) {
    case 'eq':
      return compare(actual, value as string) === 0;
    case 'neq':
      return compare(actual, value as string) !== 0;
    case 'lt':
      return compare(actual, value as string) < 0;
    case 'lte':
      return compare(actual, value as string) <= 0;
    case 'gt':
      return compare(actual, value as string) > 0;
    case 'gte':
      return compare(actual, value as string) >= 0;
    case 'in':
      return (value as string[]).some((item) => compare(actual, item) === 0);
    case 'like':
    case 'ilike':
      return condition.pattern!.test(asText(actual));
  }
}

/**
 * True when the row satisfies every condition. A column the row lacks (a delete whose
 * replica identity does not carry it) makes the condition unknown, and the row does not match.
 */
export function rowMatches(conditions: FilterCondition[], row: Record<string, unknown>): boolean {
  return conditions.every((condition) => {
    if (!(condition.column in row)) return false;
    const actual = row[condition.column];
    if (condition.negated && (actual === null || actual === undefined) && condition.operator !== 'is') return false;
    const result = holds(condition, actual);
    return condition.negated ? !result : result;
  });
}
