-- Supabase-compatible roles and JWT helpers, so org queries run under the caller's claims
-- the way PostgREST runs them. Supabase's Postgres has all of this already; plain
-- Postgres gets it here (the provisioner creates the roles beforehand as cluster admin).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN NOINHERIT;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
    CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
  END IF;
END
$$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'auth') THEN
    CREATE SCHEMA auth;
    GRANT USAGE ON SCHEMA auth TO anon, authenticated, service_role;
  END IF;
  IF to_regprocedure('auth.jwt()') IS NULL THEN
    CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS
      $f$ SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''), nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb $f$;
  END IF;
  IF to_regprocedure('auth.uid()') IS NULL THEN
    CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS
      $f$ SELECT nullif(auth.jwt() ->> 'sub', '')::uuid $f$;
  END IF;
  IF to_regprocedure('auth.role()') IS NULL THEN
    CREATE FUNCTION auth.role() RETURNS text LANGUAGE sql STABLE AS
      $f$ SELECT auth.jwt() ->> 'role' $f$;
  END IF;
END
$$;

-- The platform's own helpers: the caller's role inside the org (admin, member, viewer).
CREATE SCHEMA platform;
GRANT USAGE ON SCHEMA platform TO anon, authenticated, service_role;
CREATE FUNCTION platform.app_role() RETURNS text LANGUAGE sql STABLE AS $$ SELECT auth.jwt() ->> 'app_role' $$;
CREATE FUNCTION platform.can_write() RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT platform.app_role() IN ('admin', 'member') $$;
CREATE FUNCTION platform.can_read() RETURNS boolean LANGUAGE sql STABLE AS $$ SELECT platform.app_role() IN ('admin', 'member', 'viewer') $$;

GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
