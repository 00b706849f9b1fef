import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import type { Principal } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import { BusyLoopShare } from '../tenancy/busy-loop-share.js';

/**
 * The event loop's fair share between orgs (BusyLoopShare): after the org's in-flight turn
 * (RequestRateGuard), while this process's loop is busy (API_LOOP_BUSY_PERCENT) and
 * another org is active, an org already running ORG_REQUESTS_IN_FLIGHT_WHEN_BUSY points of its
 * requests and subscribes waits for one of them to end before the next starts its work. A
 * list call weighs one more point per ORG_REQUEST_ROWS_PER_POINT rows it asks for (its
 * `limit`): reading, encoding and sending its rows is most of its cost. Written against
 * the Node response under any HTTP adapter (Express's response is one, Fastify's reply
 * holds one as `raw`). The platform admin is not held back.
 */
@Injectable()
export class BusyLoopShareGuard implements CanActivate {
  constructor(
    private readonly share: BusyLoopShare,
    private readonly config: PlatformConfig,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const http = context.switchToHttp();
    const request = http.getRequest<{ principal?: Principal; query?: { limit?: unknown } }>();
    const principal = request.principal;
    if (principal?.kind !== 'org') return true;
    // Read before validation: a limit that is not a whole number counts as none (and is refused by the route's pipe).
    const rows = Number(request.query?.limit);
    const points = 1 + (Number.isSafeInteger(rows) && rows > 0 ? Math.floor(rows / this.config.ORG_REQUEST_ROWS_PER_POINT) : 0);
    const end = await this.share.turn(principal.orgId, points);
    const reply = http.getResponse<ServerResponse | { raw: ServerResponse }>();
    const response = 'raw' in reply ? reply.raw : reply;
    // 'close' comes once the answer is sent or the client went away, whichever way the request ended.
    if (response.closed) end();
    else response.once('close', end);
    return true;
  }
}
