import { Module } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { BusyLoopShare } from './busy-loop-share.js';
import { EventLoopLoad } from './event-loop-load.js';

/** This process's event-loop load and the orgs' share of it while it is busy: one of each per process. */
@Module({
  providers: [
    EventLoopLoad,
    {
      provide: BusyLoopShare,
      inject: [EventLoopLoad, PlatformConfig],
      useFactory: (load: EventLoopLoad, config: PlatformConfig) => new BusyLoopShare(load, config.ORG_REQUESTS_IN_FLIGHT_WHEN_BUSY),
    },
  ],
  exports: [EventLoopLoad, BusyLoopShare],
})
export class TenancyModule {}
