import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { WebhookService } from '#libs/webhooks';
import { Audited } from '../audit/audited.decorator.js';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { CreateWebhookDto } from './create-webhook.dto.js';

const webhookId = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.NOT_FOUND });
const MAX_DELIVERIES = 500;

class DeliveriesQuery {
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_DELIVERIES)
  limit: number = 100;
}

@ApiTags('webhooks')
@ApiBearerAuth()
@Controller('v1/webhooks')
export class WebhooksController {
  constructor(private readonly webhooks: WebhookService) {}

  @Post()
  @OrgAccess('member')
  @ApiOperation({ summary: 'Register a webhook for finished-task events; deliveries are signed with the secret.' })
  @Audited('webhook.create', 'webhook')
  create(@CurrentOrg() principal: OrgPrincipal, @Body() body: CreateWebhookDto) {
    return this.webhooks.create(claimsOf(principal), body);
  }

  @Get()
  @OrgAccess('viewer')
  list(@CurrentOrg() principal: OrgPrincipal) {
    return this.webhooks.list(claimsOf(principal));
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @OrgAccess('member')
  @Audited('webhook.delete', 'webhook', 'id')
  async delete(@CurrentOrg() principal: OrgPrincipal, @Param('id', webhookId) id: string) {
    await this.webhooks.delete(claimsOf(principal), id);
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @HttpCode(HttpStatus.ACCEPTED)
  @OrgAccess('member')
  @ApiOperation({
    summary: 'Send a delivery again (202, the delivery as it stands); the attempt shows on the delivery once sent. 404 for unknown ids.',
  })
  @Audited('webhook.redeliver', 'webhook_delivery', 'id', 'deliveryId')
  redeliver(@CurrentOrg() principal: OrgPrincipal, @Param('id', webhookId) id: string, @Param('deliveryId', webhookId) deliveryId: string) {
    return this.webhooks.redeliver(claimsOf(principal), id, deliveryId);
  }

  @Get(':id/deliveries')
  @OrgAccess('viewer')
  @ApiOperation({ summary: "The webhook's deliveries, newest first, with attempts and the last response code." })
  deliveries(@CurrentOrg() principal: OrgPrincipal, @Param('id', webhookId) id: string, @Query() query: DeliveriesQuery) {
    return this.webhooks.deliveryLog(claimsOf(principal), id, query.limit);
  }
}
