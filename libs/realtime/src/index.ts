// The org event streams live in #libs/event-stream (the registry appends to them too); the
// fan-out and the relays read them beside this lib's own exports.
export * from '#libs/event-stream';
export * from './event-stream.trimmer.js';
export * from './realtime-snapshot-provider.js';
export * from './realtime.module.js';
export * from './redis-lease.js';
export * from './relay/change-relay.supervisor.js';
export * from './relay/relay-slots.js';
export * from './relay/row-change.js';
export * from './relay/wal-change.relay.js';
export * from './relay/supabase-change.relay.js';
