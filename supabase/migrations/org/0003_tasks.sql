-- History of finished tasks: final state, every attempt, and the logs. Written once per
-- task by the platform (service_role, idempotent upserts); read by everyone in the org.
CREATE TABLE tasks (
  id uuid PRIMARY KEY,
  type text NOT NULL,
  status text NOT NULL CHECK (status IN ('SUCCESS', 'FAILED', 'CANCELLED')),
  params jsonb NOT NULL DEFAULT '{}',
  priority integer NOT NULL,
  attempt integer NOT NULL,
  max_attempts integer NOT NULL,
  timeout_ms integer NOT NULL,
  progress real,
  result jsonb,
  error text,
  worker_id text,
  idempotency_key text UNIQUE,
  created_at timestamptz NOT NULL,
  started_at timestamptz,
  finished_at timestamptz,
  persisted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_newest_first ON tasks (created_at DESC, id DESC);
CREATE INDEX tasks_by_status ON tasks (status, created_at DESC);
CREATE INDEX tasks_by_type ON tasks (type, created_at DESC);

CREATE TABLE task_attempts (
  task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  attempt integer NOT NULL,
  worker_id text NOT NULL,
  status text,
  error text,
  started_at timestamptz NOT NULL,
  finished_at timestamptz,
  PRIMARY KEY (task_id, attempt)
);

CREATE TABLE task_logs (
  task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  seq integer NOT NULL,
  stream text NOT NULL CHECK (stream IN ('STDOUT', 'STDERR', 'SYSTEM')),
  chunk text NOT NULL,
  at timestamptz NOT NULL,
  PRIMARY KEY (task_id, seq)
);

ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE task_logs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tasks_read ON tasks FOR SELECT TO authenticated USING (platform.can_read());
CREATE POLICY task_attempts_read ON task_attempts FOR SELECT TO authenticated USING (platform.can_read());
CREATE POLICY task_logs_read ON task_logs FOR SELECT TO authenticated USING (platform.can_read());
GRANT SELECT ON tasks, task_attempts, task_logs TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON tasks, task_attempts, task_logs TO service_role;
