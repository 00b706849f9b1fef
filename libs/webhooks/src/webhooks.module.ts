import { Module } from '@nestjs/common';
import { OutboundModule } from '#libs/outbound';
import { RegistryModule } from '#libs/registry';
import { WebhookRepository } from './webhook.repository.js';
import { WebhookService } from './webhook.service.js';

/** Outgoing webhooks: registrations and delivery records in the org database, deliveries on their own queue. */
@Module({
  imports: [RegistryModule, OutboundModule],
  providers: [WebhookRepository, WebhookService],
  exports: [WebhookRepository, WebhookService, OutboundModule],
})
export class WebhooksModule {}
