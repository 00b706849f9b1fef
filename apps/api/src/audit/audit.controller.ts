import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditLogService } from '#libs/audit';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { AuditQueryDto } from './audit-query.dto.js';

@ApiTags('audit')
@ApiBearerAuth()
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditLogService) {}

  @Get()
  @OrgAccess('admin')
  @ApiOperation({
    summary:
      'The org audit log, newest first: one row per state-changing request { id, at, actor, action, target, requestId, sourceIp, outcome }; never values or secrets.',
  })
  list(@CurrentOrg() principal: OrgPrincipal, @Query() query: AuditQueryDto) {
    return this.audit.list(claimsOf(principal), query);
  }
}
