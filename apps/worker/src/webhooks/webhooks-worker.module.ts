import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { WebhooksModule } from '#libs/webhooks';
import { WebhookSender } from './webhook-sender.js';

@Module({ imports: [RegistryModule, WebhooksModule], providers: [WebhookSender] })
export class WebhooksWorkerModule {}
