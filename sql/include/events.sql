-- sql/include/events.sql (included with \i by the regress files):
-- pg_temp.events(deal), a deal's events from its identity confirmation
-- on, without timestamps, ids and random numbers (the authentication
-- number, hold and capture ids); the administrator shown as <admin>.
CREATE FUNCTION pg_temp.events(bigint) RETURNS TABLE
    (action text, from_stage text, to_stage text, actor text, payload jsonb)
LANGUAGE sql AS $$
  SELECT action, from_stage, to_stage, CASE WHEN actor = current_user THEN '<admin>' ELSE actor END,
         payload - 'auth_no' - 'capture_transfer' - 'hold'
    FROM escrow.deal_events WHERE deal = $1 AND action NOT IN ('open_deal', 'issue_identity_code')
   ORDER BY id
$$;
