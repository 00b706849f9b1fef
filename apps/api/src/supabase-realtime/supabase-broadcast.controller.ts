import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { OrgPrincipal } from '#libs/auth';
import { EventType, Topic } from '#libs/contracts';
import { OrgEventStream } from '#libs/realtime';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { BroadcastDto } from './broadcast.dto.js';
import type { ChannelBroadcastData } from './supabase-channel-feed.service.js';

/** Supabase Realtime's REST broadcast, which supabase-js uses to send without a joined channel. */
@ApiTags('realtime')
@ApiBearerAuth()
@Controller('realtime/v1/api')
@OrgAccess('viewer')
export class SupabaseBroadcastController {
  constructor(private readonly stream: OrgEventStream) {}

  @Post('broadcast')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: "Broadcasts messages to the caller's org channels, as Supabase Realtime's REST API does." })
  async broadcast(@CurrentOrg() principal: OrgPrincipal, @Body() body: BroadcastDto): Promise<void> {
    const at = new Date().toISOString();
    await this.stream.appendMany(
      principal.orgId,
      body.messages.map((message) => ({
        topic: Topic.channel(message.topic),
        type: EventType.channelBroadcast,
        at,
        data: { event: message.event, payload: message.payload } satisfies ChannelBroadcastData,
      })),
    );
  }
}
