-- A re-run task keeps the id of the task it re-ran, so history can link the two. The
-- table is found in either schema, as platform tables may have moved to `platform`.
DO $$
DECLARE
  tasks regclass := coalesce(to_regclass('platform.tasks'), to_regclass('public.tasks'));
BEGIN
  EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS rerun_of uuid', tasks);
  -- The per-minute task statistics read the last hour of finished tasks.
  EXECUTE format('CREATE INDEX IF NOT EXISTS tasks_by_finished_at ON %s (finished_at)', tasks);
END
$$;
