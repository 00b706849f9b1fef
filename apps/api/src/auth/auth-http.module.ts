import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthModule } from '#libs/auth';
import { BearerAuthGuard } from './bearer-auth.guard.js';
import { MeController } from './me.controller.js';
import { SessionController } from './session.controller.js';

/** Authentication of every HTTP route (deny unless decorated) and the session endpoint. */
@Module({
  imports: [AuthModule],
  controllers: [SessionController, MeController],
  providers: [{ provide: APP_GUARD, useClass: BearerAuthGuard }],
})
export class AuthHttpModule {}
