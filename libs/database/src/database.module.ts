import { Global, Module } from '@nestjs/common';
import { ControlPlaneDatabase } from './control-plane-database.js';

@Global()
@Module({ providers: [ControlPlaneDatabase], exports: [ControlPlaneDatabase] })
export class DatabaseModule {}
