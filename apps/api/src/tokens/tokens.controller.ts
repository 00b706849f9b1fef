import { Body, Controller, Delete, Get, HttpCode, HttpStatus, NotFoundException, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OrgTokenService, type OrgPrincipal, type OrgTokenRecord } from '#libs/auth';
import { Audited } from '../audit/audited.decorator.js';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { CreateTokenDto, UpdateTokenDto } from './create-token.dto.js';

const tokenView = (record: OrgTokenRecord) => ({
  id: record.id,
  name: record.name,
  role: record.role,
  createdAt: record.createdAt,
  expiresAt: record.expiresAt,
  revokedAt: record.revokedAt,
  lastUsedAt: record.lastUsedAt,
});

const tokenId = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.NOT_FOUND });

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('v1/tokens')
@OrgAccess('admin')
export class TokensController {
  constructor(private readonly tokens: OrgTokenService) {}

  @Post()
  @ApiOperation({ summary: 'Create an API token; the secret is shown once, in this answer.' })
  @Audited('token.create', 'token')
  async create(@CurrentOrg() principal: OrgPrincipal, @Body() body: CreateTokenDto) {
    const { record, token } = await this.tokens.create(principal.orgId, body);
    return { ...tokenView(record), token };
  }

  @Get()
  @ApiOperation({ summary: "The org's tokens, without secrets; lastUsedAt is written at most every TOKEN_LAST_USED_FLUSH_MS." })
  async list(@CurrentOrg() principal: OrgPrincipal) {
    return (await this.tokens.list(principal.orgId)).map(tokenView);
  }

  @Patch(':id')
  @ApiOperation({ summary: "Change a token's role; sockets opened with it or its sessions close on every API replica." })
  @Audited('token.update', 'token', 'id')
  async update(@CurrentOrg() principal: OrgPrincipal, @Param('id', tokenId) id: string, @Body() body: UpdateTokenDto) {
    const record = await this.tokens.changeRole(principal.orgId, id, body.role);
    if (!record) throw new NotFoundException('no such token');
    return tokenView(record);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Revoke a token; it stops working at once, as do sessions made from it, and their sockets close.' })
  @Audited('token.revoke', 'token', 'id')
  async revoke(@CurrentOrg() principal: OrgPrincipal, @Param('id', tokenId) id: string) {
    if (!(await this.tokens.revoke(principal.orgId, id))) throw new NotFoundException('no such token');
  }
}
