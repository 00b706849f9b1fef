-- Supabase Realtime's authorization model for private channels: RLS policies on
-- realtime.messages (SELECT to join and receive, INSERT to broadcast and track presence),
-- evaluated with the caller's claims and realtime.topic(), the channel being joined.
-- Supabase's Postgres has all of this already (its table partitioned by day); plain
-- Postgres gets a plain table of the same columns. No policy means no private channel.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'realtime') THEN
    CREATE SCHEMA realtime;
    GRANT USAGE ON SCHEMA realtime TO anon, authenticated, service_role;
  END IF;
  IF to_regprocedure('realtime.topic()') IS NULL THEN
    CREATE FUNCTION realtime.topic() RETURNS text LANGUAGE sql STABLE AS
      $f$ SELECT nullif(current_setting('realtime.topic', true), '') $f$;
  END IF;
  IF to_regclass('realtime.messages') IS NULL THEN
    CREATE TABLE realtime.messages (
      id uuid NOT NULL DEFAULT gen_random_uuid() PRIMARY KEY,
      topic text NOT NULL,
      extension text NOT NULL,
      payload jsonb,
      event text,
      private boolean DEFAULT false,
      updated_at timestamp NOT NULL DEFAULT now(),
      inserted_at timestamp NOT NULL DEFAULT now()
    );
    ALTER TABLE realtime.messages ENABLE ROW LEVEL SECURITY;
    GRANT SELECT, INSERT ON realtime.messages TO authenticated;
  END IF;
END
$$;
