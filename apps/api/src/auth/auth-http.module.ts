import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from '#libs/auth';
import { RequestRateLimits } from '../http/request-rate-limits.js';
import { BusyLoopShareGuard } from '../http/busy-loop-share.guard.js';
import { RequestRateGuard } from '../http/request-rate.guard.js';
import { TenancyModule } from '../tenancy/tenancy.module.js';
import { BearerAuthGuard } from './bearer-auth.guard.js';
import { EarlyRateRefusal } from './early-rate-refusal.js';
import { MeController } from './me.controller.js';
import { SessionController } from './session.controller.js';

/** Authentication of every HTTP route (deny unless decorated), per-org and per-token request rates, and the session endpoint. */
@Module({
  imports: [AuthModule, TenancyModule],
  controllers: [SessionController, MeController],
  // In this order: the auth guard finds the principal and takes its rate points, the in-flight guard queues it,
  // the busy-loop guard holds an org past its share of a saturated event loop.
  providers: [
    RequestRateLimits,
    EarlyRateRefusal,
    { provide: APP_GUARD, useClass: BearerAuthGuard },
    { provide: APP_GUARD, useClass: RequestRateGuard },
    { provide: APP_GUARD, useClass: BusyLoopShareGuard },
  ],
})
export class AuthHttpModule {}
