-- Change triggers: run a task when a row of a published table changes.
ALTER TABLE tasks ADD COLUMN trigger jsonb;
-- The pools a task leased from (see the resource tier).
ALTER TABLE tasks ADD COLUMN resources jsonb;
CREATE TABLE triggers (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  table_name text NOT NULL,
  events text[] NOT NULL,
  filter jsonb NOT NULL DEFAULT '{}',
  task jsonb NOT NULL,
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per change a trigger fired on; the change key makes a replayed change fire once.
CREATE TABLE trigger_runs (
  trigger_id uuid NOT NULL REFERENCES triggers (id) ON DELETE CASCADE,
  change_key text NOT NULL,
  task_id uuid NOT NULL,
  event_type text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (trigger_id, change_key)
);
CREATE INDEX trigger_runs_newest_first ON trigger_runs (trigger_id, created_at DESC);

ALTER TABLE triggers ENABLE ROW LEVEL SECURITY;
ALTER TABLE trigger_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY triggers_read ON triggers FOR SELECT TO authenticated USING (platform.can_read());
CREATE POLICY triggers_insert ON triggers FOR INSERT TO authenticated WITH CHECK (platform.can_write());
CREATE POLICY triggers_update ON triggers FOR UPDATE TO authenticated USING (platform.can_write()) WITH CHECK (platform.can_write());
CREATE POLICY triggers_delete ON triggers FOR DELETE TO authenticated USING (platform.can_write());
CREATE POLICY trigger_runs_read ON trigger_runs FOR SELECT TO authenticated USING (platform.can_read());
GRANT SELECT, INSERT, UPDATE, DELETE ON triggers TO authenticated, service_role;
GRANT SELECT ON trigger_runs TO authenticated;
GRANT SELECT, INSERT, DELETE ON trigger_runs TO service_role;
