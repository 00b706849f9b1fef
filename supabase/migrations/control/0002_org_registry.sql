-- The organization registry: each org, its isolated database instance, its API tokens,
-- and an audit log of admin actions.

CREATE TABLE organizations (
  id uuid PRIMARY KEY,
  slug text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$'),
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  deleted_at timestamptz
);
-- A slug names one live org; a deleted org's slug may be taken again.
CREATE UNIQUE INDEX organizations_live_slug ON organizations (slug) WHERE deleted_at IS NULL;

CREATE TABLE org_instances (
  org_id uuid PRIMARY KEY REFERENCES organizations (id),
  driver text NOT NULL CHECK (driver IN ('cluster', 'external')),
  cluster text,
  database_name text,
  login_role text,
  -- AES-256-GCM under ENCRYPTION_KEY: {"password"} for cluster, {"url"} for external.
  credentials_encrypted text NOT NULL,
  schema_version text,
  status text NOT NULL CHECK (status IN ('PENDING', 'PROVISIONING', 'READY', 'FAILED', 'DEPROVISIONING', 'DELETED')),
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (driver = 'external' OR (cluster IS NOT NULL AND database_name IS NOT NULL AND login_role IS NOT NULL))
);
CREATE INDEX org_instances_status ON org_instances (status);
CREATE INDEX org_instances_cluster ON org_instances (cluster) WHERE status <> 'DELETED';

CREATE TABLE org_api_tokens (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id),
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
  token_sha256 text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX org_api_tokens_org ON org_api_tokens (org_id, created_at);

CREATE TABLE admin_audit_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  org_id uuid,
  details jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX admin_audit_log_org ON admin_audit_log (org_id, at);
