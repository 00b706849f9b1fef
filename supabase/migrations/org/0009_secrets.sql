-- Org secrets: values a task receives as environment variables, by name. A value is kept
-- encrypted (AES-256-GCM under ENCRYPTION_KEY) and only the platform itself (service_role,
-- the worker starting a task) may read it; callers see names and dates, and only admins write.
CREATE TABLE secrets (
  name text PRIMARY KEY CHECK (name ~ '^[A-Z_][A-Z0-9_]{0,127}$'),
  value_encrypted text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE secrets ENABLE ROW LEVEL SECURITY;
CREATE POLICY secrets_read ON secrets FOR SELECT TO authenticated USING (platform.app_role() IN ('admin', 'member'));
CREATE POLICY secrets_insert ON secrets FOR INSERT TO authenticated WITH CHECK (platform.app_role() = 'admin');
CREATE POLICY secrets_update ON secrets FOR UPDATE TO authenticated USING (platform.app_role() = 'admin') WITH CHECK (platform.app_role() = 'admin');
CREATE POLICY secrets_delete ON secrets FOR DELETE TO authenticated USING (platform.app_role() = 'admin');
-- No caller may read a sealed value back, not even an admin: only the columns a list shows.
GRANT SELECT (name, created_at, updated_at) ON secrets TO authenticated;
GRANT INSERT, UPDATE (value_encrypted, updated_at), DELETE ON secrets TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON secrets TO service_role;

-- The secrets (names only) a finished task asked for, like the live tier shows them.
ALTER TABLE tasks ADD COLUMN secrets text[];
