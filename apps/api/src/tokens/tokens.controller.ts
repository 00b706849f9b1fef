import { Body, Controller, Delete, Get, HttpCode, HttpStatus, NotFoundException, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { OrgTokenService, type OrgPrincipal, type OrgTokenRecord } from '#libs/auth';
import { PlatformConfig } from '#libs/config';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { CreateTokenDto } from './create-token.dto.js';

const tokenView = (record: OrgTokenRecord) => ({
  id: record.id,
  name: record.name,
  role: record.role,
  createdAt: record.createdAt,
  expiresAt: record.expiresAt,
  revokedAt: record.revokedAt,
});

@ApiTags('tokens')
@ApiBearerAuth()
@Controller('v1/tokens')
@OrgAccess('admin')
export class TokensController {
  constructor(
    private readonly tokens: OrgTokenService,
    private readonly config: PlatformConfig,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Create an API token; the secret is shown once, in this answer.' })
  async create(@CurrentOrg() principal: OrgPrincipal, @Body() body: CreateTokenDto) {
    const { record, token } = await this.tokens.createWithinQuota(principal.orgId, body, this.config.QUOTA_TOKENS);
    return { ...tokenView(record), token };
  }

  @Get()
  @ApiOperation({ summary: "The org's tokens, without secrets." })
  async list(@CurrentOrg() principal: OrgPrincipal) {
    return (await this.tokens.list(principal.orgId)).map(tokenView);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Revoke a token; it stops working at once, as do sessions made from it.' })
  async revoke(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('id', new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.NOT_FOUND })) id: string,
  ) {
    if (!(await this.tokens.revoke(principal.orgId, id))) throw new NotFoundException('no such token');
  }
}
