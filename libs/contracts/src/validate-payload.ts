import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync } from 'class-validator';

/** Thrown when a job or socket payload does not match its contract class. */
export class InvalidPayloadError extends Error {
  override name = 'InvalidPayloadError';
}

/**
 * Keys that name what every object inherits (`constructor`, `__proto__`, `toString`, ...)
 * and `prototype`. class-transformer trips over some of them (a TypeError, so a 500) and
 * silently drops others, so a filter keyed by one would match more than was asked.
 */
const INHERITED_KEYS: ReadonlySet<string> = new Set([...Object.getOwnPropertyNames(Object.prototype), 'prototype']);

/** The path of the first key of `payload`, at any depth, that names an inherited member; undefined when there is none. */
export function inheritedKeyPath(payload: unknown): string | undefined {
  const stack: [unknown, string][] = [[payload, '']];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    for (const key of Object.keys(value)) {
      const at = path ? `${path}.${key}` : key;
      if (INHERITED_KEYS.has(key)) return at;
      stack.push([(value as Record<string, unknown>)[key], at]);
    }
  }
  return undefined;
}

/** Converts `payload` to an instance of `type` and validates it; throws InvalidPayloadError listing every bad field. */
export function validatePayload<T extends object>(type: ClassConstructor<T>, payload: unknown): T {
  const inherited = inheritedKeyPath(payload);
  if (inherited !== undefined) throw new InvalidPayloadError(`${inherited} is not an allowed key`);
  const instance = plainToInstance(type, payload ?? {});
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const problems = errors.flatMap((error) => Object.values(error.constraints ?? { [error.property]: `${error.property} is invalid` }));
    throw new InvalidPayloadError(problems.join('; '));
  }
  return instance;
}
