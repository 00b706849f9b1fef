import { Module } from '@nestjs/common';
import { SchedulesModule } from '#libs/schedules';
import { WebhooksModule } from '#libs/webhooks';
import { WebhooksController } from '../webhooks/webhooks.controller.js';
import { SchedulesController } from './schedules.controller.js';

@Module({ imports: [SchedulesModule, WebhooksModule], controllers: [SchedulesController, WebhooksController] })
export class SchedulingHttpModule {}
