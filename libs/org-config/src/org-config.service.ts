import { Injectable } from '@nestjs/common';
import type pg from 'pg';
import { AuditLogService, type AuditTrail } from '#libs/audit';
import { PlatformConfig } from '#libs/config';
import { EventType, InvalidInputError, NotFoundError, PreconditionFailedError, Topic } from '#libs/contracts';
import { OrgEventStream } from '#libs/event-stream';
import { OrgDatabase, type OrgClaims } from '#libs/registry';
import { CONFIG_KEY, type ConfigEntry, type WriteCondition } from './config-entry.js';
import { ConfigEntryRepository } from './config-entry.repository.js';

export class ConfigEntryNotFoundError extends NotFoundError {
  override name = 'ConfigEntryNotFoundError';
}

/** A page of configuration entries, in key order. */
export interface ConfigPage {
  items: ConfigEntry[];
  nextCursor: string | null;
}

const encodeCursor = (key: string) => Buffer.from(key, 'utf8').toString('base64url');

function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!CONFIG_KEY.test(key)) throw new InvalidInputError(['cursor is not one this API gave out']);
  return key;
}

/**
 * The org's configuration store: versioned JSON values by key, read and written as the
 * caller (row-level security decides), every write audited in its own transaction and
 * announced on the `config` topic once committed.
 */
@Injectable()
export class OrgConfigService {
  constructor(
    private readonly database: OrgDatabase,
    private readonly entries: ConfigEntryRepository,
    private readonly audit: AuditLogService,
    private readonly events: OrgEventStream,
    private readonly config: PlatformConfig,
  ) {}

  async get(claims: OrgClaims, key: string): Promise<ConfigEntry> {
    this.checkKey(key);
    const entry = await this.database.asCaller(claims, (client) => this.entries.get(client, key));
    if (!entry) throw new ConfigEntryNotFoundError(`no config key ${key}`);
    return entry;
  }

  async list(claims: OrgClaims, query: { prefix?: string; limit: number; cursor?: string }): Promise<ConfigPage> {
    const afterKey = query.cursor === undefined ? undefined : decodeCursor(query.cursor);
    const rows = await this.database.asCaller(claims, (client) =>
      this.entries.list(client, { prefix: query.prefix ?? '', afterKey, limit: query.limit }),
    );
    const items = rows.slice(0, query.limit);
    return { items, nextCursor: rows.length > query.limit ? encodeCursor(items[items.length - 1]!.key) : null };
  }

  /** Sets `key` to `value` under `condition`; 412 (PreconditionFailedError) when the condition no longer holds. */
  async put(claims: OrgClaims, key: string, value: unknown, condition: WriteCondition = {}, trail?: AuditTrail): Promise<ConfigEntry> {
    this.checkKey(key);
    const json = this.checkValue(value);
    const entry = await this.database.asCaller(claims, async (client) => {
      const written = await this.write(client, key, json, claims.sub, condition);
      if (trail) await this.audit.recordInTransaction(trail, key, client);
      return written;
    });
    await this.events.append(claims.org_id, { topic: Topic.config(key), type: EventType.configUpdated, at: entry.updatedAt, data: entry });
    return entry;
  }

  /** Deletes `key` (only at `ifMatch` when given); 404 when it does not exist, 412 when its version moved. */
  async delete(claims: OrgClaims, key: string, condition: Pick<WriteCondition, 'ifMatch'> = {}, trail?: AuditTrail): Promise<void> {
    this.checkKey(key);
    const version = typeof condition.ifMatch === 'number' ? condition.ifMatch : undefined;
    const deleted = await this.database.asCaller(claims, async (client) => {
      const lastVersion = await this.entries.delete(client, key, version);
      if (lastVersion === undefined) {
        if (version !== undefined && (await this.entries.get(client, key)))
          throw new PreconditionFailedError(`config key ${key} is no longer at version ${version}`);
        throw new ConfigEntryNotFoundError(`no config key ${key}`);
      }
      if (trail) await this.audit.recordInTransaction(trail, key, client);
      return lastVersion;
    });
    // The deletion is a write too: its version is one past the last value's.
    await this.events.append(claims.org_id, {
      topic: Topic.config(key),
      type: EventType.configDeleted,
      at: new Date().toISOString(),
      data: { key, version: deleted + 1 },
    });
  }

  private async write(
    client: pg.ClientBase,
    key: string,
    json: string,
    updatedBy: string,
    condition: WriteCondition,
  ): Promise<ConfigEntry> {
    if (condition.ifNoneMatch === '*') {
      const created = await this.entries.insertNew(client, key, json, updatedBy);
      if (!created) throw new PreconditionFailedError(`config key ${key} exists`);
      return created;
    }
    if (condition.ifMatch === undefined) return this.entries.upsert(client, key, json, updatedBy);
    const version = condition.ifMatch === '*' ? undefined : condition.ifMatch;
    const updated = await this.entries.update(client, key, json, updatedBy, version);
    if (!updated)
      throw new PreconditionFailedError(
        version === undefined ? `config key ${key} does not exist` : `config key ${key} is no longer at version ${version}`,
      );
    return updated;
  }

  private checkKey(key: string): void {
    if (!CONFIG_KEY.test(key)) throw new InvalidInputError(['key must be 1 to 200 letters, digits, ".", "_", ":", "/" or "-"']);
  }

  /** The value as JSON text, refused when absent or larger than CONFIG_VALUE_MAX_BYTES. */
  private checkValue(value: unknown): string {
    if (value === undefined) throw new InvalidInputError(['value must be given (any JSON)']);
    const json = JSON.stringify(value);
    if (Buffer.byteLength(json) > this.config.CONFIG_VALUE_MAX_BYTES) {
      throw new InvalidInputError([`value must be at most ${this.config.CONFIG_VALUE_MAX_BYTES} bytes of JSON`]);
    }
    return json;
  }
}
