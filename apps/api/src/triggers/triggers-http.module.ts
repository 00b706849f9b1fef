import { Module } from '@nestjs/common';
import { TriggersModule } from '#libs/triggers';
import { TriggersController } from './triggers.controller.js';

@Module({ imports: [TriggersModule], controllers: [TriggersController] })
export class TriggersHttpModule {}
