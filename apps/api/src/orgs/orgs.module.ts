import { Module } from '@nestjs/common';
import { AuthModule } from '#libs/auth';
import { RegistryModule } from '#libs/registry';
import { AdminOrgsController } from './admin-orgs.controller.js';
import { AdminOrgsService } from './admin-orgs.service.js';

@Module({ imports: [RegistryModule, AuthModule], controllers: [AdminOrgsController], providers: [AdminOrgsService] })
export class OrgsModule {}
