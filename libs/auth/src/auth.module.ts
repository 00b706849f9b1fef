import { Module } from '@nestjs/common';
import { RegistryModule } from '#libs/registry';
import { AdminTokenRepository } from './admin-token.repository.js';
import { AdminTokenService } from './admin-token.service.js';
import { Authenticator } from './authenticator.js';
import { CredentialCache } from './credential-cache.js';
import { LoginFailureLimiter } from './login-failure-limiter.js';
import { OrgTokenRepository } from './org-token.repository.js';
import { OrgTokenService } from './org-token.service.js';
import { SessionTokens } from './session-tokens.js';
import { TokenUsageRecorder } from './token-usage.recorder.js';

@Module({
  imports: [RegistryModule],
  providers: [
    AdminTokenRepository,
    AdminTokenService,
    Authenticator,
    CredentialCache,
    LoginFailureLimiter,
    OrgTokenRepository,
    OrgTokenService,
    SessionTokens,
    TokenUsageRecorder,
  ],
  exports: [AdminTokenService, Authenticator, CredentialCache, LoginFailureLimiter, OrgTokenService, SessionTokens],
})
export class AuthModule {}
