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

/** A count quota of the org is used up; `limit` names the setting that caps it (answered 409). */
export class LimitExceededError extends ConflictError {
  override name = 'LimitExceededError';
  constructor(
    readonly limit: string,
    message: string,
  ) {
    super(message);
  }
}

/** Too many requests for a rate limit; `limit` names the setting, `retryAfterMs` when to try again (answered 429). */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  constructor(
    readonly limit: string,
    readonly retryAfterMs: number,
    message: string,
  ) {
    super(message);
  }
}
