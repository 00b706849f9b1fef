-- Org configuration: named JSON values (deployment settings and the like).
-- Everyone in the org reads; admins and members write. Enforced by RLS, in the database.
CREATE TABLE config_entries (
  key text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
  value jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text
);
ALTER TABLE config_entries ENABLE ROW LEVEL SECURITY;
CREATE POLICY config_entries_read ON config_entries FOR SELECT TO authenticated USING (platform.can_read());
CREATE POLICY config_entries_insert ON config_entries FOR INSERT TO authenticated WITH CHECK (platform.can_write());
CREATE POLICY config_entries_update ON config_entries FOR UPDATE TO authenticated USING (platform.can_write()) WITH CHECK (platform.can_write());
CREATE POLICY config_entries_delete ON config_entries FOR DELETE TO authenticated USING (platform.can_write());
GRANT SELECT, INSERT, UPDATE, DELETE ON config_entries TO authenticated, service_role;
