import { Injectable } from '@nestjs/common';
import type { OrgPrincipal } from '#libs/auth';

/** What a subscription asks a snapshot of. */
export interface SnapshotRequest {
  /** Subscription topic (`resource`, or another a domain module serves). */
  topic: string;
  id?: string;
  filter?: Record<string, unknown>;
}

/** Thrown by a provider when the id names nothing the caller's org has: the subscription is refused as `not_found`. */
export class SnapshotNotFoundError extends Error {
  override name = 'SnapshotNotFoundError';
}

/**
 * A domain module's answer to "what is the current state of this topic for this caller":
 * the gateway sends it as the subscription's snapshot before streaming events. It must
 * read only the caller's org, and throw SnapshotNotFoundError for ids of other orgs.
 */
export interface RealtimeSnapshotProvider {
  snapshot(principal: OrgPrincipal, request: SnapshotRequest): Promise<unknown>;
}

/**
 * Snapshot providers by subscription topic. The gateway answers task, tasks, worker and
 * table snapshots itself; a domain module (resources) registers its provider here at start
 * (`onModuleInit`), and until one is registered its topic's snapshot is null.
 */
@Injectable()
export class RealtimeSnapshotProviders {
  private readonly providers = new Map<string, RealtimeSnapshotProvider>();

  /** Makes `provider` answer snapshots of `topic`, replacing any earlier one. */
  register(topic: string, provider: RealtimeSnapshotProvider): void {
    this.providers.set(topic, provider);
  }

  /** The provider of `topic`, if a module registered one. */
  get(topic: string): RealtimeSnapshotProvider | undefined {
    return this.providers.get(topic);
  }
}
