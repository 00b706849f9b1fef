-- A re-run task keeps the id of the task it re-ran, so history can link the two. The
-- tables are found in either schema, as platform tables may have moved to `platform`.
DO $$
DECLARE
  tasks regclass := coalesce(to_regclass('platform.tasks'), to_regclass('public.tasks'));
  attempts regclass := coalesce(to_regclass('platform.task_attempts'), to_regclass('public.task_attempts'));
  logs regclass := coalesce(to_regclass('platform.task_logs'), to_regclass('public.task_logs'));
BEGIN
  EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS rerun_of uuid', tasks);
  -- The per-minute task statistics read the window's finished tasks.
  EXECUTE format('CREATE INDEX IF NOT EXISTS tasks_by_finished_at ON %s (finished_at)', tasks);
  -- A policy calling a function was evaluated once per row (about 7 µs each: 0.74 s to count
  -- 100,000 tasks as a caller, 15 ms as the service). As a sub-select it is evaluated once per
  -- query; the claims it reads cannot change within one.
  EXECUTE format('ALTER POLICY tasks_read ON %s USING ((SELECT platform.can_read()))', tasks);
  EXECUTE format('ALTER POLICY task_attempts_read ON %s USING ((SELECT platform.can_read()))', attempts);
  EXECUTE format('ALTER POLICY task_logs_read ON %s USING ((SELECT platform.can_read()))', logs);
END
$$;
