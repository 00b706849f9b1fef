import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { RowVisibility } from './row-visibility.service.js';

/**
 * Row-level security for live row events, one instance (and one policy cache) shared by
 * the Socket.IO gateway's `table` topic and the Supabase Realtime channels.
 */
@Module({
  imports: [RegistryModule],
  providers: [RowVisibility],
  exports: [RowVisibility],
})
export class RowVisibilityModule {}
