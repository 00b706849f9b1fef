import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Put } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { SecretService } from '#libs/secrets';
import { Audited } from '../audit/audited.decorator.js';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { PutSecretDto } from './put-secret.dto.js';

@ApiTags('secrets')
@ApiBearerAuth()
@Controller('v1/secrets')
export class SecretsController {
  constructor(private readonly secrets: SecretService) {}

  @Put(':name')
  @HttpCode(HttpStatus.NO_CONTENT)
  @OrgAccess('admin')
  @ApiOperation({ summary: 'Create or replace a secret (admin); tasks that ask for it by name receive it as an environment variable.' })
  @Audited('secret.put', 'secret', 'name')
  async put(@CurrentOrg() principal: OrgPrincipal, @Param('name') name: string, @Body() body: PutSecretDto): Promise<void> {
    await this.secrets.put(claimsOf(principal), name, body.value);
  }

  @Get()
  @OrgAccess('member')
  @ApiOperation({ summary: "The org's secrets: names and dates, never values." })
  list(@CurrentOrg() principal: OrgPrincipal) {
    return this.secrets.list(claimsOf(principal));
  }

  @Delete(':name')
  @HttpCode(HttpStatus.NO_CONTENT)
  @OrgAccess('admin')
  @ApiOperation({ summary: 'Delete a secret (admin); tasks already queued with it fail when they start.' })
  @Audited('secret.delete', 'secret', 'name')
  async delete(@CurrentOrg() principal: OrgPrincipal, @Param('name') name: string): Promise<void> {
    await this.secrets.delete(claimsOf(principal), name);
  }
}
