-- bench/balance_history_seal.sql: the checkpoints the maintenance worker
-- would have made over the loaded year, one a day, sealing the transfers
-- up to :upto (escrow.checkpoint() seals up to the transfer sequence's
-- value, set here day by day, then back to the last transfer loaded).
-- Each checkpoint also stores the balance anchors of what it seals.
\set ON_ERROR_STOP 1
SELECT set_config('bench.upto', :'upto', false), set_config('bench.transfers', :'transfers', false);
DO $$
DECLARE
  n bigint := current_setting('bench.transfers')::bigint;
  upto bigint := current_setting('bench.upto')::bigint;
  sealed bigint := coalesce((SELECT max(last_transfer) FROM escrow.checkpoints), 0);
  last bigint;
BEGIN
  FOR d IN 1 .. 366 LOOP
    last := least(upto, n * d / 365);
    CONTINUE WHEN last <= sealed;
    PERFORM setval('escrow.transfer_id_seq', last);
    PERFORM escrow.checkpoint();
    sealed := last;
    COMMIT;
  END LOOP;
  PERFORM setval('escrow.transfer_id_seq', n);
END $$;
SELECT count(*) AS checkpoints, max(last_transfer) AS sealed_up_to,
       (SELECT count(*) FROM escrow.balance_anchors) AS full_anchors,
       (SELECT count(*) FROM escrow.open_balance_anchors) AS open_anchors,
       pg_size_pretty(pg_total_relation_size('escrow.balance_anchors')
                      + pg_total_relation_size('escrow.open_balance_anchors')) AS anchors_size
  FROM escrow.checkpoints;
