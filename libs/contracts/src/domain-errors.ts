/**
 * The domain's refusals, which every edge (HTTP, sockets) answers the same way: not found
 * (also for another org's ids), a conflict with the current state, invalid input.
 */
export class NotFoundError extends Error {
  override name = 'NotFoundError';
}

export class ConflictError extends Error {
  override name = 'ConflictError';
}

/** Input that does not fit; `problems` has one message per bad field. */
export class InvalidInputError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'InvalidInputError';
  }
}

/** A conditional write whose condition (`If-Match`, `If-None-Match`) no longer holds: the version moved. */
export class PreconditionFailedError extends Error {
  override name = 'PreconditionFailedError';
}
