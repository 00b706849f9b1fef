import { Module } from '@nestjs/common';
import { AdminTokenRepository } from './admin-token.repository.js';
import { AdminTokenService } from './admin-token.service.js';

@Module({ providers: [AdminTokenRepository, AdminTokenService], exports: [AdminTokenService] })
export class AuthModule {}
