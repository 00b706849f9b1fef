import { BadRequestException, Body, Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
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

  /** supabase-js' `channel.httpSend(event, payload)`: one message, the payload as the body. */
  @Post('broadcast/:topic/events/:event')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: "Broadcasts one message (the JSON body) to the caller's org channel, as supabase-js httpSend() sends it." })
  async send(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('topic') topic: string,
    @Param('event') event: string,
    @Body() payload: unknown,
  ): Promise<void> {
    if (topic.length < 1 || topic.length > 200) throw new BadRequestException('topic must be 1 to 200 characters');
    if (event.length < 1 || event.length > 255) throw new BadRequestException('event must be 1 to 255 characters');
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
      throw new BadRequestException('the body must be a JSON object');
    const data: ChannelBroadcastData = { event, payload };
    await this.stream.append(principal.orgId, {
      topic: Topic.channel(topic),
      type: EventType.channelBroadcast,
      at: new Date().toISOString(),
      data,
    });
  }
}
