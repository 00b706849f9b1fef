import { Module } from '@nestjs/common';
import { SecretsModule } from '#libs/secrets';
import { SecretsController } from './secrets.controller.js';

@Module({ imports: [SecretsModule], controllers: [SecretsController] })
export class SecretsHttpModule {}
