-- Priority classes and delayed tasks on task history; recurring schedules; outgoing webhooks.
ALTER TABLE tasks ADD COLUMN class text NOT NULL DEFAULT 'normal' CHECK (class IN ('critical', 'normal', 'batch'));
ALTER TABLE tasks ADD COLUMN schedule_id uuid;
ALTER TABLE tasks ADD COLUMN run_at timestamptz;
CREATE INDEX tasks_by_schedule ON tasks (schedule_id, created_at DESC) WHERE schedule_id IS NOT NULL;

-- A recurring task: every `every_ms` or on a cron pattern in `timezone`.
CREATE TABLE schedules (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  cron text,
  every_ms integer CHECK (every_ms > 0),
  timezone text,
  task jsonb NOT NULL,
  paused boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((cron IS NULL) <> (every_ms IS NULL))
);

-- Where finished-task events are POSTed. The secret signs each delivery; it is kept
-- encrypted (AES-256-GCM under ENCRYPTION_KEY), since signing needs it back.
CREATE TABLE webhooks (
  id uuid PRIMARY KEY,
  url text NOT NULL,
  events text[] NOT NULL,
  secret_encrypted text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- One row per delivery of one event; attempts and the last answer are updated in place.
CREATE TABLE webhook_deliveries (
  id uuid PRIMARY KEY,
  webhook_id uuid NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
  event text NOT NULL,
  -- One delivery per webhook, event and task, however often the finished task is handled.
  dedupe_key text NOT NULL UNIQUE,
  payload jsonb NOT NULL,
  attempts integer NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED')),
  response_code integer,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, created_at DESC);

ALTER TABLE schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY schedules_read ON schedules FOR SELECT TO authenticated USING (platform.can_read());
CREATE POLICY schedules_insert ON schedules FOR INSERT TO authenticated WITH CHECK (platform.can_write());
CREATE POLICY schedules_update ON schedules FOR UPDATE TO authenticated USING (platform.can_write()) WITH CHECK (platform.can_write());
CREATE POLICY schedules_delete ON schedules FOR DELETE TO authenticated USING (platform.can_write());
CREATE POLICY webhooks_read ON webhooks FOR SELECT TO authenticated USING (platform.can_read());
CREATE POLICY webhooks_insert ON webhooks FOR INSERT TO authenticated WITH CHECK (platform.can_write());
CREATE POLICY webhooks_delete ON webhooks FOR DELETE TO authenticated USING (platform.can_write());
CREATE POLICY webhook_deliveries_read ON webhook_deliveries FOR SELECT TO authenticated USING (platform.can_read());
GRANT SELECT, INSERT, UPDATE, DELETE ON schedules TO authenticated, service_role;
GRANT SELECT, INSERT, DELETE ON webhooks TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhooks TO service_role;
GRANT SELECT ON webhook_deliveries TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_deliveries TO service_role;
