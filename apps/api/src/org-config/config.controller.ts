import { BadRequestException, Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, Param, Put, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuditTrail } from '#libs/audit';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { OrgConfigService, type WriteCondition } from '#libs/org-config';
import { Audited, RequestAuditTrail } from '../audit/audited.decorator.js';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { notModified, parseIfMatch, setEntityTag } from '../http/conditional-request.js';
import { ListConfigQuery, PutConfigDto } from './config.dto.js';

/** The write condition of a PUT: `If-Match` (a version, or * for "exists") or `If-None-Match: *` (create only), not both. */
function writeCondition(ifMatch: string | undefined, ifNoneMatch: string | undefined): WriteCondition {
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') throw new BadRequestException('If-None-Match on a write must be *');
  if (ifNoneMatch !== undefined && ifMatch !== undefined) throw new BadRequestException('give If-Match or If-None-Match, not both');
  return ifNoneMatch !== undefined ? { ifNoneMatch: '*' } : { ifMatch: parseIfMatch(ifMatch) };
}

@ApiTags('config')
@ApiBearerAuth()
@Controller('v1/config')
export class ConfigController {
  constructor(private readonly config: OrgConfigService) {}

  @Get()
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'Configuration entries in key order, optionally under a prefix; page with cursor.' })
  list(@CurrentOrg() principal: OrgPrincipal, @Query() query: ListConfigQuery) {
    return this.config.list(claimsOf(principal), query);
  }

  @Get(':key')
  @OrgAccess('viewer')
  @ApiHeader({ name: 'If-None-Match', required: false, description: '"<version>": 304 when the entry is still at it' })
  @ApiOperation({ summary: 'One entry { key, value, version, updatedAt, updatedBy } with ETag "<version>"; 404 when absent.' })
  async get(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('key') key: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const entry = await this.config.get(claimsOf(principal), key);
    setEntityTag(response, entry.version);
    if (notModified(ifNoneMatch, entry.version)) {
      response.code(HttpStatus.NOT_MODIFIED);
      return undefined;
    }
    return entry;
  }

  @Put(':key')
  @HttpCode(HttpStatus.OK)
  @OrgAccess('member')
  @Audited('config.put', 'config', 'key')
  @ApiHeader({ name: 'If-Match', required: false, description: '"<version>": 412 unless the entry is still at it' })
  @ApiHeader({ name: 'If-None-Match', required: false, description: '*: create only, 412 when the key exists' })
  @ApiOperation({ summary: 'Set a value (any JSON); its version grows by one. 412 when a condition fails.' })
  async put(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('key') key: string,
    @Body() body: PutConfigDto,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @RequestAuditTrail() trail: AuditTrail,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const entry = await this.config.put(claimsOf(principal), key, body.value, writeCondition(ifMatch, ifNoneMatch), trail);
    setEntityTag(response, entry.version);
    return entry;
  }

  @Delete(':key')
  @HttpCode(HttpStatus.NO_CONTENT)
  @OrgAccess('member')
  @Audited('config.delete', 'config', 'key')
  @ApiHeader({ name: 'If-Match', required: false, description: '"<version>": 412 unless the entry is still at it' })
  @ApiOperation({ summary: 'Delete an entry (204); 404 when absent, 412 when its version moved.' })
  async delete(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('key') key: string,
    @Headers('if-match') ifMatch: string | undefined,
    @RequestAuditTrail() trail: AuditTrail,
  ) {
    await this.config.delete(claimsOf(principal), key, { ifMatch: parseIfMatch(ifMatch) }, trail);
  }
}
