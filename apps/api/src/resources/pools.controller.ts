import { Body, Controller, Delete, Get, HttpStatus, Param, ParseUUIDPipe, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { OrgPrincipal } from '#libs/auth';
import { ResourceService } from '#libs/resources';
import { Audited } from '../audit/audited.decorator.js';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { giveBackOrgPlace } from '../http/request-rate.guard.js';
import { AllocateDto, CreateEnvironmentDto, CreatePoolDto, ListEnvironmentsQuery, UpdateEnvironmentDto } from './resource.dto.js';

const environmentId = new ParseUUIDPipe({ errorHttpStatusCode: HttpStatus.NOT_FOUND });

/** Pools and their environments; `:pool` is the pool's id or its name. */
@ApiTags('resources')
@ApiBearerAuth()
@Controller('v1/pools')
export class PoolsController {
  constructor(private readonly resources: ResourceService) {}

  @Post()
  @OrgAccess('admin')
  @ApiOperation({ summary: 'Create a pool (201); 409 when a pool has the name.' })
  @Audited('pool.create', 'pool')
  create(@CurrentOrg() principal: OrgPrincipal, @Body() body: CreatePoolDto) {
    return this.resources.createPool(principal.orgId, body);
  }

  @Get()
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'Pools by name, with how many environments are free, allocated and retired.' })
  list(@CurrentOrg() principal: OrgPrincipal) {
    return this.resources.listPools(principal.orgId);
  }

  @Get(':pool')
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'One pool with its counts.' })
  get(@CurrentOrg() principal: OrgPrincipal, @Param('pool') pool: string) {
    return this.resources.getPool(principal.orgId, pool);
  }

  @Post(':pool/environments')
  @OrgAccess('admin')
  @ApiOperation({ summary: 'Add an environment (201, free); 409 when the pool has one of that name.' })
  @Audited('environment.create', 'environment')
  addEnvironment(@CurrentOrg() principal: OrgPrincipal, @Param('pool') pool: string, @Body() body: CreateEnvironmentDto) {
    return this.resources.addEnvironment(principal.orgId, pool, body);
  }

  @Get(':pool/environments')
  @OrgAccess('viewer')
  @ApiOperation({ summary: "The pool's environments by name, retired ones included, paged: { items, nextCursor }." })
  listEnvironments(@CurrentOrg() principal: OrgPrincipal, @Param('pool') pool: string, @Query() query: ListEnvironmentsQuery) {
    return this.resources.listEnvironments(principal.orgId, pool, query);
  }

  @Get(':pool/environments/:id')
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'One environment.' })
  getEnvironment(@CurrentOrg() principal: OrgPrincipal, @Param('pool') pool: string, @Param('id', environmentId) id: string) {
    return this.resources.getEnvironment(principal.orgId, pool, id);
  }

  @Patch(':pool/environments/:id')
  @OrgAccess('admin')
  @ApiOperation({ summary: "Replace an environment's attributes; 409 when it is retired." })
  @Audited('environment.update', 'environment', 'id')
  updateEnvironment(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('pool') pool: string,
    @Param('id', environmentId) id: string,
    @Body() body: UpdateEnvironmentDto,
  ) {
    return this.resources.updateEnvironment(principal.orgId, pool, id, body.attributes);
  }

  @Delete(':pool/environments/:id')
  @OrgAccess('admin')
  @ApiOperation({ summary: 'Retire an environment (200, kept as retired, never allocated again); 409 while it is allocated.' })
  @Audited('environment.retire', 'environment', 'id')
  retireEnvironment(@CurrentOrg() principal: OrgPrincipal, @Param('pool') pool: string, @Param('id', environmentId) id: string) {
    return this.resources.retireEnvironment(principal.orgId, pool, id);
  }

  @Post(':pool/allocations')
  @OrgAccess('member')
  @ApiOperation({
    summary: 'Lease a free environment (201 { id, environment, expiresAt, ... }); 409 when none is free (after waitSeconds, if given).',
  })
  @Audited('allocation.create', 'allocation')
  allocate(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('pool') pool: string,
    @Body() body: AllocateDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const waitMs = (body.waitSeconds ?? 0) * 1000;
    let signal: AbortSignal | undefined;
    if (waitMs > 0) {
      // A client gone while it waits leaves the queue, so the next release goes to one still there.
      const gone = new AbortController();
      response.raw.once('close', () => gone.abort());
      signal = gone.signal;
    }
    return this.resources.allocate(principal.orgId, pool, {
      holder: body.holder,
      ttlSeconds: body.ttlSeconds,
      waitMs,
      signal,
      // Waiting costs this process nothing: the org's other requests (the release that ends the wait among them) go on meanwhile.
      onWait: () => giveBackOrgPlace(request),
      capWaiters: true,
    });
  }
}
