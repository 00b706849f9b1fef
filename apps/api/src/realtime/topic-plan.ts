import type { PlatformEvent } from '#libs/contracts';
import type { OrgClaims } from '#libs/registry';

export type RefusalCode = 'invalid_payload' | 'not_found';

/** Why a subscription is refused, as the `error` of its ack. */
export class SubscriptionRefused extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
    this.name = 'SubscriptionRefused';
  }
}

/** What a subscription reads and how it picks its events: always from the caller's own org stream (or the platform's, for workers). */
export interface TopicPlan {
  /** The org whose stream is read: the caller's org, whatever the payload says. */
  streamOrg: string;
  /** Set when the subscription wants exactly one stream topic, so delivery can look it up directly. */
  exactTopic?: string;
  /**
   * Set when a subscription of many topics wants events of one type only, so delivery looks
   * it up by type and other events (another kind of topic, the org's busiest) never test it.
   */
  eventType?: string;
  matches(event: PlatformEvent): boolean;
  /**
   * Set for a table's row events: each matching event is delivered only when the table's
   * row-level security lets `claims` see its row (a DELETE judged on its old row).
   */
  rowSecurity?: RowSecurity;
  /** Current state, read with the caller's rights; throws SubscriptionRefused('not_found') for what the caller's org lacks. */
  snapshot(): Promise<unknown>;
}

/** Whose rights decide which of a table's row events a subscription receives. */
export interface RowSecurity {
  table: string;
  claims: OrgClaims;
  /** Equal for subscriptions with the same claims, which then share one check per batch. */
  callerKey: string;
}
