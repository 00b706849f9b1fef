import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync } from 'class-validator';

/** Thrown when a job or socket payload does not match its contract class. */
export class InvalidPayloadError extends Error {
  override name = 'InvalidPayloadError';
}

/** Converts `payload` to an instance of `type` and validates it; throws InvalidPayloadError listing every bad field. */
export function validatePayload<T extends object>(type: ClassConstructor<T>, payload: unknown): T {
  const instance = plainToInstance(type, payload ?? {});
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const problems = errors.flatMap((error) => Object.values(error.constraints ?? { [error.property]: `${error.property} is invalid` }));
    throw new InvalidPayloadError(problems.join('; '));
  }
  return instance;
}
