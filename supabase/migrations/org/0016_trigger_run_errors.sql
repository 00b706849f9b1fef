-- A change a trigger could not turn into a task (its task no longer validates: a shell
-- command taken off TASK_SHELL_ALLOW, a task type removed) is recorded as a run with the
-- reason and no task, and acknowledged, instead of being tried again for ever. The table
-- is found in either schema, as platform tables may have moved to `platform`.
DO $$
DECLARE
  runs regclass := coalesce(to_regclass('platform.trigger_runs'), to_regclass('public.trigger_runs'));
BEGIN
  EXECUTE format('ALTER TABLE %s ALTER COLUMN task_id DROP NOT NULL', runs);
  EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS error text', runs);
END
$$;
