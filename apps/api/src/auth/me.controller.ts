import { Controller, Get } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Principal } from '#libs/auth';
import { AnyPrincipal, CurrentPrincipal } from './access.decorators.js';

@ApiTags('auth')
@ApiBearerAuth()
@Controller('v1/me')
export class MeController {
  @Get()
  @AnyPrincipal()
  @ApiOperation({ summary: 'Who the token is: the platform admin, or an org (id, slug) and role.' })
  whoAmI(@CurrentPrincipal() principal: Principal) {
    if (principal.kind === 'platform-admin') return { kind: 'platform-admin' };
    return { kind: 'org', org: { id: principal.orgId, slug: principal.orgSlug }, role: principal.role, via: principal.via };
  }
}
