import { Module } from '@nestjs/common';
import { AuthModule } from '#libs/auth';
import { TokensController } from './tokens.controller.js';

@Module({ imports: [AuthModule], controllers: [TokensController] })
export class TokensModule {}
