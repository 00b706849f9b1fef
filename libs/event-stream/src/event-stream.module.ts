import { Module } from '@nestjs/common';
import { OrgEventStream } from './org-event-stream.service.js';

/** The org event streams alone: the one append path, for modules that publish events but run no relay. */
@Module({
  providers: [OrgEventStream],
  exports: [OrgEventStream],
})
export class EventStreamModule {}
