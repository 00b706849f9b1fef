-- A delivery keeps the status and timing of its last attempt, never the target's answer:
-- the error held up to 200 characters of the reply, which let any viewer read what an
-- internal service answered. Existing records keep only their status code. The table is
-- found in either schema, as platform tables may have moved to `platform`.
DO $$
DECLARE
  deliveries regclass := coalesce(to_regclass('platform.webhook_deliveries'), to_regclass('public.webhook_deliveries'));
BEGIN
  EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS duration_ms integer', deliveries);
  EXECUTE format($sql$UPDATE %s SET error = 'answered ' || response_code WHERE error LIKE 'answered %%' AND response_code IS NOT NULL$sql$, deliveries);
END
$$;
