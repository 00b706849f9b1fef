import { ConflictException, NotFoundException } from '@nestjs/common';
import { ResourceConflictError, ResourceNotFoundError } from '#libs/resources';

/** Maps the resources domain's errors to HTTP answers. */
export function toHttpError(error: unknown): never {
  if (error instanceof ResourceNotFoundError) throw new NotFoundException(error.message);
  if (error instanceof ResourceConflictError) throw new ConflictException(error.message);
  throw error;
}
