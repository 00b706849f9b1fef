import { Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SessionTokens, type OrgPrincipal } from '#libs/auth';
import { CurrentOrg, OrgAccess } from './access.decorators.js';

@ApiTags('auth')
@ApiBearerAuth()
@Controller('v1/auth')
export class SessionController {
  constructor(private readonly sessions: SessionTokens) {}

  @Post('session')
  @HttpCode(HttpStatus.OK)
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'Exchange an API token for a short-lived JWT with Supabase-compatible claims.' })
  create(@CurrentOrg() principal: OrgPrincipal) {
    return this.sessions.issue(principal);
  }
}
