import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { AuditLogService, type AuditTrail } from '#libs/audit';
import { PlatformConfig } from '#libs/config';
import { ConflictError, EventType, InvalidInputError, NotFoundError, PreconditionFailedError, Topic } from '#libs/contracts';
import { OrgEventStream } from '#libs/event-stream';
import { OrgDatabase, type OrgClaims } from '#libs/registry';
import { applyMergePatch, COLLECTION_NAME, DOCUMENT_ID, type DocumentPage, type StoredDocument } from './document.js';
import { DocumentRepository } from './document.repository.js';

export class DocumentNotFoundError extends NotFoundError {
  override name = 'DocumentNotFoundError';
}

const SEQ_CURSOR = /^[1-9]\d{0,18}$/;

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The org's document store: collections of versioned JSON objects with optimistic
 * concurrency and containment queries, read and written as the caller (row-level security
 * decides), every write audited in its own transaction and announced on the `documents` topic.
 */
@Injectable()
export class DocumentStoreService {
  constructor(
    private readonly database: OrgDatabase,
    private readonly documents: DocumentRepository,
    private readonly audit: AuditLogService,
    private readonly events: OrgEventStream,
    private readonly config: PlatformConfig,
  ) {}

  /** Creates a document (a new UUID when `id` is absent); ConflictError when the id is taken. */
  async create(claims: OrgClaims, collection: string, input: { id?: string; data: unknown }, trail?: AuditTrail): Promise<StoredDocument> {
    this.checkCollection(collection);
    const id = input.id ?? randomUUID();
    this.checkId(id);
    const json = this.checkData(input.data);
    const document = await this.write(claims, trail, { collection, id }, async (client) => {
      const created = await this.documents.insert(client, collection, id, json);
      if (!created) throw new ConflictError(`document ${id} already exists in ${collection}`);
      return created;
    });
    await this.announce(claims.org_id, EventType.documentCreated, document);
    return document;
  }

  async get(claims: OrgClaims, collection: string, id: string): Promise<StoredDocument> {
    this.checkPath(collection, id);
    const document = await this.database.asCaller(claims, (client) => this.documents.get(client, collection, id));
    if (!document) throw this.notFound(collection, id);
    return document;
  }

  /** Replaces the data, only at `ifMatch` when given. */
  async replace(
    claims: OrgClaims,
    collection: string,
    id: string,
    data: unknown,
    ifMatch?: number,
    trail?: AuditTrail,
  ): Promise<StoredDocument> {
    this.checkPath(collection, id);
    const json = this.checkData(data);
    const document = await this.write(claims, trail, { collection, id }, async (client) => {
      const replaced = await this.documents.replace(client, collection, id, json, ifMatch);
      return replaced ?? this.refuseWrite(client, collection, id, ifMatch);
    });
    await this.announce(claims.org_id, EventType.documentUpdated, document);
    return document;
  }

  /** Applies a JSON merge patch (RFC 7386) to the data, only at `ifMatch` when given. */
  async patch(
    claims: OrgClaims,
    collection: string,
    id: string,
    patch: unknown,
    ifMatch?: number,
    trail?: AuditTrail,
  ): Promise<StoredDocument> {
    this.checkPath(collection, id);
    if (!isObject(patch)) throw new InvalidInputError(['data must be a JSON object (a merge patch of the document)']);
    const document = await this.write(claims, trail, { collection, id }, async (client) => {
      const current = await this.documents.get(client, collection, id, true);
      if (!current) throw this.notFound(collection, id);
      if (ifMatch !== undefined && current.version !== ifMatch) throw this.moved(collection, id, ifMatch);
      const json = this.checkData(applyMergePatch(current.data, patch));
      return (await this.documents.replace(client, collection, id, json, current.version))!;
    });
    await this.announce(claims.org_id, EventType.documentUpdated, document);
    return document;
  }

  /** Deletes the document, only at `ifMatch` when given. */
  async delete(claims: OrgClaims, collection: string, id: string, ifMatch?: number, trail?: AuditTrail): Promise<void> {
    this.checkPath(collection, id);
    const deleted = await this.write(claims, trail, { collection, id }, async (client) => {
      const gone = await this.documents.delete(client, collection, id, ifMatch);
      return gone ?? this.refuseWrite(client, collection, id, ifMatch);
    });
    // The deletion is a write too: its version is one past the last data's, which the event keeps for filters.
    await this.announce(claims.org_id, EventType.documentDeleted, { ...deleted, version: deleted.version + 1 });
  }

  /** Documents whose data contains `match` (a JSON object), newest first. */
  async list(claims: OrgClaims, collection: string, query: { match?: unknown; limit: number; cursor?: string }): Promise<DocumentPage> {
    this.checkCollection(collection);
    if (query.match !== undefined && !isObject(query.match)) throw new InvalidInputError(['match must be a JSON object']);
    if (query.cursor !== undefined && !SEQ_CURSOR.test(query.cursor)) throw new InvalidInputError(['cursor is not one this API gave out']);
    const { documents, lastSeq } = await this.database.asCaller(claims, (client) =>
      this.documents.list(client, {
        collection,
        match: query.match === undefined ? undefined : JSON.stringify(query.match),
        beforeSeq: query.cursor,
        limit: query.limit,
      }),
    );
    return { items: documents.slice(0, query.limit), nextCursor: lastSeq ?? null };
  }

  /** Every collection of the org with its number of documents. */
  collections(claims: OrgClaims): Promise<{ collection: string; count: number }[]> {
    return this.database.asCaller(claims, (client) => this.documents.collections(client));
  }

  /** Runs one write as the caller, with its audit row (target `<collection>/<id>`) in the same transaction. */
  private write<T>(
    claims: OrgClaims,
    trail: AuditTrail | undefined,
    target: { collection: string; id: string },
    change: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
    return this.database.asCaller(claims, async (client) => {
      const result = await change(client);
      if (trail) await this.audit.recordInTransaction(trail, `${target.collection}/${target.id}`, client);
      return result;
    });
  }

  /** Why a conditional write touched nothing: the document is missing (404) or its version moved (412). */
  private async refuseWrite(client: pg.ClientBase, collection: string, id: string, ifMatch: number | undefined): Promise<never> {
    if (ifMatch !== undefined && (await this.documents.get(client, collection, id))) throw this.moved(collection, id, ifMatch);
    throw this.notFound(collection, id);
  }

  private announce(orgId: string, type: EventType, document: StoredDocument): Promise<string> {
    return this.events.append(orgId, {
      topic: Topic.document(document.collection, document.id),
      type,
      at: new Date().toISOString(),
      data: document,
    });
  }

  private notFound(collection: string, id: string): DocumentNotFoundError {
    return new DocumentNotFoundError(`no document ${id} in ${collection}`);
  }

  private moved(collection: string, id: string, version: number): PreconditionFailedError {
    return new PreconditionFailedError(`document ${id} in ${collection} is no longer at version ${version}`);
  }

  private checkPath(collection: string, id: string): void {
    this.checkCollection(collection);
    this.checkId(id);
  }

  private checkCollection(collection: string): void {
    if (!COLLECTION_NAME.test(collection)) throw new InvalidInputError(['collection must be 1 to 100 letters, digits, "_", "." or "-"']);
  }

  private checkId(id: string): void {
    if (!DOCUMENT_ID.test(id)) throw new InvalidInputError(['id must be 1 to 200 letters, digits, ".", "_", ":" or "-"']);
  }

  /** The data as JSON text: a JSON object no larger than DOCUMENT_MAX_BYTES. */
  private checkData(data: unknown): string {
    if (!isObject(data)) throw new InvalidInputError(['data must be a JSON object']);
    const json = JSON.stringify(data);
    if (Buffer.byteLength(json) > this.config.DOCUMENT_MAX_BYTES) {
      throw new InvalidInputError([`data must be at most ${this.config.DOCUMENT_MAX_BYTES} bytes of JSON`]);
    }
    return json;
  }
}
