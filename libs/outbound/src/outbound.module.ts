import { Module } from '@nestjs/common';
import { PlatformConfig } from '#libs/config';
import { GuardedHttpClient } from './guarded-http-client.js';
import { OutboundAddressPolicy } from './outbound-address-policy.js';

/** Outbound HTTP: the one guarded client every outbound call goes through, under OUTBOUND_ALLOW_CIDRS. */
@Module({
  providers: [
    {
      provide: GuardedHttpClient,
      useFactory: (config: PlatformConfig) => new GuardedHttpClient(new OutboundAddressPolicy(config.OUTBOUND_ALLOW_CIDRS)),
      inject: [PlatformConfig],
    },
  ],
  exports: [GuardedHttpClient],
})
export class OutboundModule {}
