import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuditTrail } from '#libs/audit';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { DocumentStoreService } from '#libs/documents';
import { Audited, RequestAuditTrail } from '../audit/audited.decorator.js';
import { CurrentOrg, OrgAccess } from '../auth/access.decorators.js';
import { notModified, requiredVersion, setEntityTag } from '../http/conditional-request.js';
import { CreateDocumentDto, ListDocumentsQuery, WriteDocumentDto } from './document.dto.js';

const IF_MATCH = { name: 'If-Match', required: false, description: '"<version>": 412 unless the document is still at it' };

/** `match` as given in the query string: JSON text, 400 when it is not. */
function parseMatch(match: string | undefined): unknown {
  if (match === undefined) return undefined;
  try {
    return JSON.parse(match);
  } catch {
    throw new BadRequestException('match must be a URL-encoded JSON object');
  }
}

@ApiTags('documents')
@ApiBearerAuth()
@Controller('v1/collections')
export class DocumentsController {
  constructor(private readonly documents: DocumentStoreService) {}

  @Get()
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'Every collection with its number of documents: [{ collection, count }].' })
  collections(@CurrentOrg() principal: OrgPrincipal) {
    return this.documents.collections(claimsOf(principal));
  }

  @Post(':collection/documents')
  @OrgAccess('member')
  @Audited('document.create', 'document')
  @ApiOperation({ summary: 'Create a document at version 1 (201, with ETag); 409 when the id is taken.' })
  async create(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('collection') collection: string,
    @Body() body: CreateDocumentDto,
    @RequestAuditTrail() trail: AuditTrail,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const document = await this.documents.create(claimsOf(principal), collection, body, trail);
    setEntityTag(response, document.version);
    return document;
  }

  @Get(':collection/documents')
  @OrgAccess('viewer')
  @ApiOperation({ summary: 'Documents whose data contains `match` (indexed jsonb containment), newest first; page with cursor.' })
  list(@CurrentOrg() principal: OrgPrincipal, @Param('collection') collection: string, @Query() query: ListDocumentsQuery) {
    return this.documents.list(claimsOf(principal), collection, {
      match: parseMatch(query.match),
      limit: query.limit,
      cursor: query.cursor,
    });
  }

  @Get(':collection/documents/:id')
  @OrgAccess('viewer')
  @ApiHeader({ name: 'If-None-Match', required: false, description: '"<version>": 304 when the document is still at it' })
  @ApiOperation({ summary: 'One document { collection, id, data, version, createdAt, updatedAt } with ETag "<version>".' })
  async get(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('collection') collection: string,
    @Param('id') id: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const document = await this.documents.get(claimsOf(principal), collection, id);
    setEntityTag(response, document.version);
    if (notModified(ifNoneMatch, document.version)) {
      response.code(HttpStatus.NOT_MODIFIED);
      return undefined;
    }
    return document;
  }

  @Put(':collection/documents/:id')
  @OrgAccess('member')
  @Audited('document.replace', 'document', 'collection', 'id')
  @ApiHeader(IF_MATCH)
  @ApiOperation({ summary: 'Replace the data; the version grows by one. 404 when absent, 412 when the version moved.' })
  async replace(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('collection') collection: string,
    @Param('id') id: string,
    @Body() body: WriteDocumentDto,
    @Headers('if-match') ifMatch: string | undefined,
    @RequestAuditTrail() trail: AuditTrail,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const document = await this.documents.replace(claimsOf(principal), collection, id, body.data, requiredVersion(ifMatch), trail);
    setEntityTag(response, document.version);
    return document;
  }

  @Patch(':collection/documents/:id')
  @OrgAccess('member')
  @Audited('document.patch', 'document', 'collection', 'id')
  @ApiHeader(IF_MATCH)
  @ApiOperation({ summary: 'Apply a JSON merge patch (RFC 7386) to the data; 404 when absent, 412 when the version moved.' })
  async patch(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('collection') collection: string,
    @Param('id') id: string,
    @Body() body: WriteDocumentDto,
    @Headers('if-match') ifMatch: string | undefined,
    @RequestAuditTrail() trail: AuditTrail,
    @Res({ passthrough: true }) response: FastifyReply,
  ) {
    const document = await this.documents.patch(claimsOf(principal), collection, id, body.data, requiredVersion(ifMatch), trail);
    setEntityTag(response, document.version);
    return document;
  }

  @Delete(':collection/documents/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @OrgAccess('member')
  @Audited('document.delete', 'document', 'collection', 'id')
  @ApiHeader(IF_MATCH)
  @ApiOperation({ summary: 'Delete a document (204); 404 when absent, 412 when the version moved.' })
  async delete(
    @CurrentOrg() principal: OrgPrincipal,
    @Param('collection') collection: string,
    @Param('id') id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @RequestAuditTrail() trail: AuditTrail,
  ) {
    await this.documents.delete(claimsOf(principal), collection, id, requiredVersion(ifMatch), trail);
  }
}
