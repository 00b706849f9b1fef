-- What a fresh Postgres cluster needs before the platform and Supabase's services use it.
-- Run once, by psql, as a superuser, with POSTGRES_PASSWORD in the environment:
--   * docker compose mounts it into Supabase's Postgres image, which runs it at first start
--     (after its own init scripts, as supabase_admin);
--   * on any other Postgres 15: POSTGRES_PASSWORD=... psql -U postgres -f supabase/docker/platform-init.sql
-- Running it again is harmless: it creates what is missing and resets the passwords.
\set ON_ERROR_STOP on
\set pgpass `echo "$POSTGRES_PASSWORD"`
SELECT length(:'pgpass') >= 16 AS pgpass_ok \gset
\if :pgpass_ok
\else
  DO $$ BEGIN RAISE EXCEPTION 'POSTGRES_PASSWORD must be set in the environment, 16 characters or more'; END $$;
\endif

-- Supabase's API roles. Supabase's image has them; plain Postgres gets them here (the org
-- migrations create them too, but PostgREST's authenticator must exist before any org does).
SELECT 'CREATE ROLE anon NOLOGIN NOINHERIT' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'anon') \gexec
SELECT 'CREATE ROLE authenticated NOLOGIN NOINHERIT' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticated') \gexec
SELECT 'CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') \gexec
-- PostgREST logs in as authenticator and switches to the role a JWT names.
SELECT 'CREATE ROLE authenticator NOINHERIT' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'authenticator') \gexec
ALTER ROLE authenticator WITH LOGIN PASSWORD :'pgpass';
GRANT anon, authenticated, service_role TO authenticator;

-- The platform's own login. It creates each org's database and login role, and each org's
-- realtime publication FOR TABLES IN SCHEMA public, which PostgreSQL 15 allows only to a
-- superuser. Supabase's image demotes `postgres`, so the platform gets a role of its own.
SELECT 'CREATE ROLE platform' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'platform') \gexec
ALTER ROLE platform WITH LOGIN SUPERUSER PASSWORD :'pgpass';
-- The control plane: registry, tokens, audit. Org databases sit beside it on this cluster.
SELECT 'CREATE DATABASE platform OWNER platform' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'platform') \gexec

-- Supabase Realtime keeps its own tables in schema _realtime of the database it connects to.
\connect postgres
CREATE SCHEMA IF NOT EXISTS _realtime AUTHORIZATION platform;
