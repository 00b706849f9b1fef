import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { ResourceService } from '#libs/resources';
import { Audited } from '../audit/audited.decorator.js';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { ExtendAllocationDto } from './resource.dto.js';

const allocationId = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.NOT_FOUND });

/** Leases, by allocation id. */
@ApiTags('resources')
@ApiBearerAuth()
@Controller('v1/allocations')
export class AllocationsController {
  constructor(private readonly resources: ResourceService) {}

  @Get(':id')
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'One lease, live or ended.' })
  get(@CurrentOrg() principal: OrgPrincipal, @Param('id', allocationId) id: string) {
    return this.resources.getAllocation(claimsOf(principal), id);
  }

  @Post(':id/extend')
  @HttpCode(HttpStatus.OK)
  @OrgAccess('member')
  @ApiOperation({ summary: 'The lease then ends ttlSeconds from now; 409 when it has ended.' })
  @Audited('allocation.extend', 'allocation', 'id')
  extend(@CurrentOrg() principal: OrgPrincipal, @Param('id', allocationId) id: string, @Body() body: ExtendAllocationDto) {
    return this.resources.extend(principal.orgId, id, body.ttlSeconds);
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @OrgAccess('member')
  @ApiOperation({ summary: 'Release the lease (204); its environment is free again. 409 when it has ended.' })
  @Audited('allocation.release', 'allocation', 'id')
  async release(@CurrentOrg() principal: OrgPrincipal, @Param('id', allocationId) id: string): Promise<void> {
    await this.resources.release(principal.orgId, id);
  }
}
