import { Injectable } from '@nestjs/common';
import { AuditLogService } from '#libs/audit';
import { claimsOf, type OrgPrincipal } from '#libs/auth';
import { EventType, InvalidInputError, Topic, type PlatformEvent } from '#libs/contracts';
import { COLLECTION_NAME, DocumentStoreService, type StoredDocument } from '#libs/documents';
import { CONFIG_KEY, ConfigEntryNotFoundError, OrgConfigService } from '#libs/org-config';
import type { FilterValue, SubscribeDto } from './subscribe.dto.js';
import { SubscriptionRefused, type TopicPlan } from './topic-plan.js';

/** Entries, documents and audit rows in the snapshot of a subscription: the first page, as over HTTP. */
const SNAPSHOT_CONFIG_ENTRIES = 500;
const SNAPSHOT_DOCUMENTS = 100;
const SNAPSHOT_AUDIT_ROWS = 100;

const DOCUMENT_EVENTS = new Set<string>([EventType.documentCreated, EventType.documentUpdated, EventType.documentDeleted]);

const refuse = (code: 'invalid_payload' | 'not_found', message: string): never => {
  throw new SubscriptionRefused(code, message);
};

/** A snapshot whose bad input (a service's InvalidInputError) refuses the subscription instead of failing it. */
async function snapshotOf<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof InvalidInputError) refuse('invalid_payload', error.message);
    throw error;
  }
}

/**
 * The operational-state topics: `config` (one key, or all), `documents` (one collection,
 * optionally filtered by field equalities) and `audit` (admins only). Each reads its
 * snapshot as the caller, through the owning service, from the caller's own org.
 */
@Injectable()
export class OperationalStateTopics {
  constructor(
    private readonly config: OrgConfigService,
    private readonly documents: DocumentStoreService,
    private readonly audit: AuditLogService,
  ) {}

  configTopic(principal: OrgPrincipal, { id, filter }: SubscribeDto): TopicPlan {
    if (filter) refuse('invalid_payload', 'a config subscription takes no filter');
    if (id !== undefined && !CONFIG_KEY.test(id)) refuse('invalid_payload', 'a config subscription id is a config key');
    const claims = claimsOf(principal);
    const topic = id === undefined ? undefined : Topic.config(id);
    return {
      streamOrg: principal.orgId,
      exactTopic: topic,
      matches: (event) =>
        (event.type === EventType.configUpdated || event.type === EventType.configDeleted) && (!topic || event.topic === topic),
      snapshot: () =>
        snapshotOf(async () => {
          if (id === undefined) return this.config.list(claims, { limit: SNAPSHOT_CONFIG_ENTRIES });
          // A key not set yet is a null snapshot: its first value arrives as config.updated.
          return this.config.get(claims, id).catch((error: unknown) => {
            if (error instanceof ConfigEntryNotFoundError) return null;
            throw error;
          });
        }),
    };
  }

  documentsTopic(principal: OrgPrincipal, { id, filter = {} }: SubscribeDto): TopicPlan {
    if (id === undefined || !COLLECTION_NAME.test(id))
      refuse('invalid_payload', 'a documents subscription needs the collection name as id');
    const collection = id!;
    const wanted = Object.entries(filter);
    return {
      streamOrg: principal.orgId,
      matches: (event: PlatformEvent) => {
        if (!DOCUMENT_EVENTS.has(event.type)) return false;
        const document = event.data as StoredDocument;
        return document.collection === collection && wanted.every(([field, value]) => sameScalar(document.data?.[field], value));
      },
      // Field equalities are a containment of those fields, which the collection's index serves.
      snapshot: () =>
        snapshotOf(() =>
          this.documents.list(claimsOf(principal), collection, {
            match: wanted.length ? Object.fromEntries(wanted) : undefined,
            limit: SNAPSHOT_DOCUMENTS,
          }),
        ),
    };
  }

  auditTopic(principal: OrgPrincipal, { id, filter }: SubscribeDto): TopicPlan {
    if (principal.role !== 'admin') refuse('not_found', 'the audit topic is for the admin role');
    if (id !== undefined || filter) refuse('invalid_payload', 'an audit subscription takes no id or filter');
    return {
      streamOrg: principal.orgId,
      exactTopic: Topic.audit,
      matches: (event) => event.type === EventType.auditRecorded,
      snapshot: () => this.audit.list(claimsOf(principal), { limit: SNAPSHOT_AUDIT_ROWS }),
    };
  }
}

/** JSON equality of a field with a filter value, as containment compares them (1 is not "1"). */
function sameScalar(actual: unknown, expected: FilterValue): boolean {
  return actual === expected;
}
