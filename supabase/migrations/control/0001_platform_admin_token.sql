-- The platform admin token, stored only as its SHA-256 hash. One row at most:
-- generated at first start, or set from PLATFORM_ADMIN_TOKEN.
CREATE TABLE platform_admin_token (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  token_sha256 text NOT NULL,
  source text NOT NULL CHECK (source IN ('generated', 'environment')),
  created_at timestamptz NOT NULL DEFAULT now()
);
