import {
  BadRequestException,
  Body,
  Controller,
  ForbiddenException,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Query,
  ServiceUnavailableException,
} from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { EventType, Topic } from '#libs/contracts';
import { OrgEventStream } from '#libs/realtime';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { BroadcastDto } from './broadcast.dto.js';
import { ChannelAuthorizationUnavailable, RowVisibility } from '../realtime/row-visibility.service.js';
import { channelSpace } from './supabase-channel.js';
import type { ChannelBroadcastData } from './supabase-channel-feed.service.js';

/** Supabase Realtime's REST broadcast, which supabase-js uses to send without a joined channel. */
@ApiTags('realtime')
@ApiBearerAuth()
@Controller('realtime/v1/api')
@OrgAccess('viewer')
export class SupabaseBroadcastController {
  constructor(
    private readonly stream: OrgEventStream,
    private readonly visibility: RowVisibility,
  ) {}

  @Post('broadcast')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: "Broadcasts messages to the caller's org channels, as Supabase Realtime's REST API does." })
  async broadcast(@CurrentOrg() principal: OrgPrincipal, @Body() body: BroadcastDto): Promise<void> {
    // A private channel takes a broadcast only as its INSERT policies on realtime.messages allow, as a joined one does.
    const privateTopics = new Set(body.messages.filter((message) => message.private === true).map((message) => message.topic));
    for (const topic of privateTopics) await this.mayBroadcast(principal, topic);
    const at = new Date().toISOString();
    await this.stream.appendMany(
      principal.orgId,
      body.messages.map((message) => ({
        topic: Topic.channel(channelSpace(message.topic, message.private === true)),
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
    @Query('private') isPrivate?: string,
  ): Promise<void> {
    if (topic.length < 1 || topic.length > 200) throw new BadRequestException('topic must be 1 to 200 characters');
    if (event.length < 1 || event.length > 255) throw new BadRequestException('event must be 1 to 255 characters');
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
      throw new BadRequestException('the body must be a JSON object');
    if (isPrivate === 'true') await this.mayBroadcast(principal, topic);
    const data: ChannelBroadcastData = { event, payload };
    await this.stream.append(principal.orgId, {
      topic: Topic.channel(channelSpace(topic, isPrivate === 'true')),
      type: EventType.channelBroadcast,
      at: new Date().toISOString(),
      data,
    });
  }

  private async mayBroadcast(principal: OrgPrincipal, topic: string): Promise<void> {
    let access;
    try {
      access = await this.visibility.channelAccess(claimsOf(principal), topic);
    } catch (error) {
      if (error instanceof ChannelAuthorizationUnavailable) throw new ServiceUnavailableException(error.message);
      throw error;
    }
    if (!access.broadcast)
      throw new ForbiddenException(`no INSERT policy on realtime.messages lets you broadcast to private channel ${topic}`);
  }
}
