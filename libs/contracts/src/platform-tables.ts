/**
 * Tables of an org database that the platform owns (in schema `public` or `platform`,
 * wherever a migration put them). They hold platform state and secret material (webhook
 * secrets, org secrets, token traces), so no realtime `table` topic or other generic row
 * reader may expose them: only the org's own tables are open to such readers. The list is
 * explicit so that the refusal holds whatever schema the tables live in.
 */
export const PLATFORM_OWNED_TABLES: ReadonlySet<string> = new Set([
  'schema_migrations',
  'config_entries',
  'tasks',
  'task_attempts',
  'task_logs',
  'org_identity',
  'resource_pools',
  'resource_environments',
  'resource_allocations',
  'resource_allocation_history',
  'schedules',
  'webhooks',
  'webhook_deliveries',
  'triggers',
  'trigger_runs',
  'secrets',
  'documents',
  'audit_log',
]);
