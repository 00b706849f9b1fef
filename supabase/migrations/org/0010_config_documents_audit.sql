-- Operational state served by the API: versioned configuration, versioned JSON documents
-- and the org's audit log. Every policy goes through the platform helpers, which check the
-- caller's org_id claim against this database's org, so a session of another org (through
-- the API or PostgREST) reads and writes nothing.

-- Configuration gains a version for optimistic concurrency (ETag / If-Match): one more per write.
ALTER TABLE config_entries ADD COLUMN version bigint NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE config_entries ADD CONSTRAINT config_entries_key_shape CHECK (key ~ '^[A-Za-z0-9._:/-]{1,200}$') NOT VALID;

-- Documents: collections of JSON documents, each versioned. `seq` orders a collection
-- newest first for keyset paging; the GIN index serves containment (`data @> match`) queries.
CREATE TABLE documents (
  collection text NOT NULL CHECK (collection ~ '^[A-Za-z0-9_.-]{1,100}$'),
  id text NOT NULL CHECK (id ~ '^[A-Za-z0-9._:-]{1,200}$'),
  data jsonb NOT NULL CHECK (jsonb_typeof(data) = 'object'),
  version bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
  seq bigint GENERATED ALWAYS AS IDENTITY,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (collection, id)
);
CREATE INDEX documents_newest_first ON documents (collection, seq DESC);
CREATE INDEX documents_data_contains ON documents USING gin (data jsonb_path_ops);

-- The helpers are wrapped in scalar subqueries so each is evaluated once per statement
-- (an InitPlan), not once per row scanned.
ALTER TABLE documents ENABLE ROW LEVEL SECURITY;
CREATE POLICY documents_read ON documents FOR SELECT TO authenticated USING ((SELECT platform.can_read()));
CREATE POLICY documents_insert ON documents FOR INSERT TO authenticated WITH CHECK ((SELECT platform.can_write()));
CREATE POLICY documents_update ON documents FOR UPDATE TO authenticated USING ((SELECT platform.can_write())) WITH CHECK ((SELECT platform.can_write()));
CREATE POLICY documents_delete ON documents FOR DELETE TO authenticated USING ((SELECT platform.can_write()));
GRANT SELECT, INSERT, UPDATE, DELETE ON documents TO authenticated, service_role;

-- Containment queries. Under RLS the planner may not use the GIN index for `@>` (jsonb
-- containment is not leakproof, so it must run after the policy on every row): this
-- function makes the same check as documents_read once, then queries as the table's owner,
-- which the index serves. Only `authenticated` may call it; it lives outside `public`, so
-- PostgREST does not expose it.
CREATE FUNCTION platform.match_documents(p_collection text, p_match jsonb, p_before_seq bigint, p_limit integer)
RETURNS SETOF documents LANGUAGE sql STABLE SECURITY DEFINER SET search_path = platform, public, pg_temp AS $$
  SELECT * FROM documents
  WHERE platform.can_read() AND collection = p_collection AND data @> p_match AND (p_before_seq IS NULL OR seq < p_before_seq)
  ORDER BY seq DESC LIMIT p_limit
$$;
REVOKE ALL ON FUNCTION platform.match_documents(text, jsonb, bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.match_documents(text, jsonb, bigint, integer) TO authenticated;

-- Who did what in the org. Append-only: no role gets UPDATE or DELETE, and RLS has INSERT
-- and SELECT policies only. Only admins read it; a caller may append rows only as itself
-- (its own token id and role), so a member's session cannot forge another actor's rows.
-- Values and secrets are never stored here: an action, a target and an outcome.
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor_kind text NOT NULL CHECK (actor_kind IN ('token', 'session', 'platform')),
  actor_id text,
  actor_name text,
  actor_role text,
  action text NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
  target_type text NOT NULL CHECK (length(target_type) BETWEEN 1 AND 100),
  target_id text,
  request_id text,
  source_ip text,
  outcome text NOT NULL CHECK (outcome IN ('success', 'failure'))
);
CREATE INDEX audit_log_by_action ON audit_log (action, id DESC);
CREATE INDEX audit_log_by_actor ON audit_log (actor_id, id DESC);
CREATE INDEX audit_log_by_target_type ON audit_log (target_type, id DESC);
CREATE INDEX audit_log_by_time ON audit_log (at);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT TO authenticated USING ((SELECT platform.is_this_org() AND platform.app_role() = 'admin'));
CREATE POLICY audit_log_insert ON audit_log FOR INSERT TO authenticated WITH CHECK (
  (SELECT platform.can_read()) AND actor_kind IN ('token', 'session') AND actor_id = (SELECT auth.jwt() ->> 'sub') AND actor_role = (SELECT platform.app_role())
);
REVOKE ALL ON audit_log FROM PUBLIC;
GRANT SELECT, INSERT ON audit_log TO authenticated, service_role;
