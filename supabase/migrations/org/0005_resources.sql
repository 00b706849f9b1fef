-- The resource tier's durable copy. Redis is authoritative for current allocation; the
-- platform writes every change here behind it (service_role), in order, and rebuilds
-- Redis from these tables when Redis comes back empty. `rev` is the org-wide change
-- number of the last change written to a row: a replayed change (rev not greater) is a no-op.
CREATE TABLE resource_pools (
  id uuid PRIMARY KEY,
  name text NOT NULL UNIQUE,
  kind text NOT NULL,
  created_at timestamptz NOT NULL,
  rev bigint NOT NULL
);

CREATE TABLE resource_environments (
  id uuid PRIMARY KEY,
  pool_id uuid NOT NULL REFERENCES resource_pools (id),
  name text NOT NULL,
  attributes jsonb NOT NULL DEFAULT '{}',
  status text NOT NULL CHECK (status IN ('free', 'allocated', 'retired')),
  allocation_id uuid,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  rev bigint NOT NULL,
  UNIQUE (pool_id, name)
);

-- Every lease, live or ended: its current state.
CREATE TABLE resource_allocations (
  id uuid PRIMARY KEY,
  pool_id uuid NOT NULL REFERENCES resource_pools (id),
  environment_id uuid NOT NULL REFERENCES resource_environments (id),
  holder text NOT NULL,
  status text NOT NULL CHECK (status IN ('active', 'released', 'expired')),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  ended_at timestamptz,
  rev bigint NOT NULL
);
CREATE INDEX resource_allocations_live ON resource_allocations (pool_id) WHERE status = 'active';

-- What happened to every lease, one row per change (allocated, extended, released, expired).
CREATE TABLE resource_allocation_history (
  rev bigint PRIMARY KEY,
  allocation_id uuid NOT NULL,
  pool_id uuid NOT NULL,
  environment_id uuid NOT NULL,
  holder text NOT NULL,
  action text NOT NULL CHECK (action IN ('allocated', 'extended', 'released', 'expired')),
  expires_at timestamptz NOT NULL,
  at timestamptz NOT NULL
);
CREATE INDEX resource_allocation_history_by_allocation ON resource_allocation_history (allocation_id, rev);

ALTER TABLE resource_pools ENABLE ROW LEVEL SECURITY;
ALTER TABLE resource_environments ENABLE ROW LEVEL SECURITY;
ALTER TABLE resource_allocations ENABLE ROW LEVEL SECURITY;
ALTER TABLE resource_allocation_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY resource_pools_read ON resource_pools FOR SELECT TO authenticated USING (platform.can_read());
CREATE POLICY resource_environments_read ON resource_environments FOR SELECT TO authenticated USING (platform.can_read());
CREATE POLICY resource_allocations_read ON resource_allocations FOR SELECT TO authenticated USING (platform.can_read());
CREATE POLICY resource_allocation_history_read ON resource_allocation_history FOR SELECT TO authenticated USING (platform.can_read());
GRANT SELECT ON resource_pools, resource_environments, resource_allocations, resource_allocation_history TO authenticated;
GRANT SELECT, INSERT, UPDATE, DELETE ON resource_pools, resource_environments, resource_allocations, resource_allocation_history
  TO service_role;
