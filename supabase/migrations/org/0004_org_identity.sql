-- Pins each org database to its org. Every org shares JWT_SECRET with PostgREST and
-- Realtime, so policies also require the caller's `org_id` claim to be this org's: a
-- session of another org, presented to this database, can read and write nothing.
CREATE TABLE platform.org_identity (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  org_id uuid NOT NULL
);
GRANT SELECT ON platform.org_identity TO anon, authenticated, service_role;

CREATE FUNCTION platform.is_this_org() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT coalesce((auth.jwt() ->> 'org_id') = (SELECT org_id::text FROM platform.org_identity), false) $$;
CREATE OR REPLACE FUNCTION platform.can_write() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT platform.is_this_org() AND platform.app_role() IN ('admin', 'member') $$;
CREATE OR REPLACE FUNCTION platform.can_read() RETURNS boolean LANGUAGE sql STABLE AS
  $$ SELECT platform.is_this_org() AND platform.app_role() IN ('admin', 'member', 'viewer') $$;
