import { Module } from '@nestjs/common';
import { SocketSlots } from './socket-slots.store.js';

/** One SocketSlots for the Socket.IO gateway and the Supabase Realtime endpoint. */
@Module({
  providers: [SocketSlots],
  exports: [SocketSlots],
})
export class SocketSlotsModule {}
