import { Module } from '@nestjs/common';
import { OrgConfigModule } from '#libs/org-config';
import { ConfigController } from './config.controller.js';

/** The configuration store over HTTP. */
@Module({ imports: [OrgConfigModule], controllers: [ConfigController] })
export class ConfigHttpModule {}
