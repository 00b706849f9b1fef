-- The platform's own tables move out of `public` into schema `platform`. `public` is the
-- org's: the realtime publication covers it (or a chosen list of its tables), so a write
-- the platform makes (task history, resource sync, deliveries...) never comes back through
-- the WAL as a row change; the task and resource tiers announce those themselves. The
-- platform's connections use search_path `platform, public`, so its SQL is unchanged.
-- Tables that other migrations may have made before this one are moved if present.
ALTER TABLE IF EXISTS public.schema_migrations SET SCHEMA platform;
ALTER TABLE IF EXISTS public.config_entries SET SCHEMA platform;
ALTER TABLE IF EXISTS public.tasks SET SCHEMA platform;
ALTER TABLE IF EXISTS public.task_attempts SET SCHEMA platform;
ALTER TABLE IF EXISTS public.task_logs SET SCHEMA platform;
ALTER TABLE IF EXISTS public.resource_pools SET SCHEMA platform;
ALTER TABLE IF EXISTS public.resource_environments SET SCHEMA platform;
ALTER TABLE IF EXISTS public.resource_allocations SET SCHEMA platform;
ALTER TABLE IF EXISTS public.resource_allocation_history SET SCHEMA platform;
ALTER TABLE IF EXISTS public.schedules SET SCHEMA platform;
ALTER TABLE IF EXISTS public.webhooks SET SCHEMA platform;
ALTER TABLE IF EXISTS public.webhook_deliveries SET SCHEMA platform;
ALTER TABLE IF EXISTS public.triggers SET SCHEMA platform;
ALTER TABLE IF EXISTS public.trigger_runs SET SCHEMA platform;
ALTER TABLE IF EXISTS public.secrets SET SCHEMA platform;
ALTER TABLE IF EXISTS public.documents SET SCHEMA platform;
ALTER TABLE IF EXISTS public.audit_log SET SCHEMA platform;

-- PostgREST (compose) exposes `platform` next to `public`, for reading only: the API writes
-- these tables itself, with the caller's claims, and PostgREST is the one client that sets
-- `request.method`. These restrictive policies refuse any write that comes through it.
DO $$
DECLARE
  t record;
BEGIN
  FOR t IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'platform' AND c.relkind = 'r' AND c.relname <> 'schema_migrations'
  LOOP
    EXECUTE format(
      $p$CREATE POLICY %I ON platform.%I AS RESTRICTIVE FOR INSERT TO anon, authenticated
           WITH CHECK (coalesce(current_setting('request.method', true), '') = '')$p$, t.relname || '_rest_no_insert', t.relname);
    EXECUTE format(
      $p$CREATE POLICY %I ON platform.%I AS RESTRICTIVE FOR UPDATE TO anon, authenticated
           USING (coalesce(current_setting('request.method', true), '') = '')$p$, t.relname || '_rest_no_update', t.relname);
    EXECUTE format(
      $p$CREATE POLICY %I ON platform.%I AS RESTRICTIVE FOR DELETE TO anon, authenticated
           USING (coalesce(current_setting('request.method', true), '') = '')$p$, t.relname || '_rest_no_delete', t.relname);
  END LOOP;
END
$$;
