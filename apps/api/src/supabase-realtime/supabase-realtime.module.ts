import { Module } from '@nestjs/common';
import { AuthModule } from '#libs/auth';
import { RealtimeModule } from '#libs/realtime';
import { RegistryModule } from '#libs/registry';
import { MetricsModule } from '../metrics/metrics.module.js';
import { ChannelPresenceStore } from './channel-presence.store.js';
import { ConnectionSlots } from './connection-slots.store.js';
import { RowVisibilityModule } from '../realtime/row-visibility.module.js';
import { SupabaseBroadcastController } from './supabase-broadcast.controller.js';
import { SupabaseChannelFeed } from './supabase-channel-feed.service.js';
import { SupabaseRealtimeServer } from './supabase-realtime.server.js';
import { SocketSlotsModule } from '../realtime/socket-slots.module.js';

/** The Supabase Realtime protocol (/realtime/v1/websocket and REST broadcast) on the org event streams. */
@Module({
  imports: [SocketSlotsModule, AuthModule, MetricsModule, RealtimeModule, RegistryModule, RowVisibilityModule],
  controllers: [SupabaseBroadcastController],
  providers: [SupabaseRealtimeServer, SupabaseChannelFeed, ChannelPresenceStore, ConnectionSlots],
})
export class SupabaseRealtimeModule {}
