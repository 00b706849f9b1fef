-- Where an org's row changes come from: its WAL through a replication slot (default), or,
-- for an instance hosted on Supabase, that project's Realtime `postgres_changes`.
ALTER TABLE org_instances ADD COLUMN realtime_source text NOT NULL DEFAULT 'wal' CHECK (realtime_source IN ('wal', 'supabase'));
ALTER TABLE org_instances ADD COLUMN supabase_url text;
-- AES-256-GCM under ENCRYPTION_KEY, like the database credentials.
ALTER TABLE org_instances ADD COLUMN supabase_key_encrypted text;
ALTER TABLE org_instances ADD CONSTRAINT org_instances_supabase_source CHECK (realtime_source = 'wal' OR (supabase_url IS NOT NULL AND supabase_key_encrypted IS NOT NULL));
