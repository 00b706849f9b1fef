import type { RealtimeView } from './org-relay-states.js';

export const INSTANCE_STATUSES = ['PENDING', 'PROVISIONING', 'READY', 'FAILED', 'DEPROVISIONING', 'DELETED'] as const;
export type InstanceStatus = (typeof INSTANCE_STATUSES)[number];
export type InstanceDriver = 'cluster' | 'external';

export interface Organization {
  id: string;
  slug: string;
  name: string;
  createdAt: string;
  deletedAt: string | null;
}

/** An org's database instance as the registry keeps it (credentials still sealed). */
export interface OrgInstance {
  orgId: string;
  driver: InstanceDriver;
  cluster: string | null;
  databaseName: string | null;
  loginRole: string | null;
  credentialsEncrypted: string;
  schemaVersion: string | null;
  /** Where its row changes come from: its WAL (a replication slot) or Supabase Realtime. */
  realtimeSource: 'wal' | 'supabase';
  supabaseUrl: string | null;
  supabaseKeyEncrypted: string | null;
  status: InstanceStatus;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface OrgWithInstance {
  org: Organization;
  instance: OrgInstance;
}

/** Decrypted credentials: a password for the org's login role on a cluster, or the whole URL of an external database. */
export type InstanceCredentials = { password: string } | { url: string };

/** What the admin API shows of an instance: never credentials; with its relay's state once READY. */
export function publicInstanceView(instance: OrgInstance, realtime?: RealtimeView) {
  return {
    status: instance.status,
    driver: instance.driver,
    cluster: instance.cluster,
    database: instance.databaseName,
    schemaVersion: instance.schemaVersion,
    realtimeSource: instance.realtimeSource,
    ...(realtime ? { realtime } : {}),
    ...(instance.lastError ? { error: instance.lastError } : {}),
    createdAt: instance.createdAt,
    updatedAt: instance.updatedAt,
  };
}

export function publicOrgView(org: Organization) {
  return { id: org.id, slug: org.slug, name: org.name, createdAt: org.createdAt };
}
