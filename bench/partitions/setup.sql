-- bench/partitions/setup.sql (bench/partitions.sh): a table of the shape of
-- escrow.transfers with its indexes, plain and partitioned by month (25
-- partitions: a year back, a year ahead), 200,000 rows in each.
-- plain: the shape of escrow.transfers today
CREATE SEQUENCE tid;
CREATE TABLE plain (
    id bigint PRIMARY KEY, kind text NOT NULL, debit_account bigint NOT NULL, credit_account bigint NOT NULL,
    amount bigint NOT NULL, refunded bigint NOT NULL DEFAULT 0, hold_id bigint, refund_of bigint,
    created_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON plain (debit_account, created_at) INCLUDE (amount);
CREATE INDEX ON plain (credit_account, created_at) INCLUDE (amount);
-- partitioned by month, 12 partitions ahead and 12 behind (the key must be in the primary key)
CREATE TABLE part (
    id bigint NOT NULL, kind text NOT NULL, debit_account bigint NOT NULL, credit_account bigint NOT NULL,
    amount bigint NOT NULL, refunded bigint NOT NULL DEFAULT 0, hold_id bigint, refund_of bigint,
    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at);
CREATE INDEX ON part (debit_account, created_at) INCLUDE (amount);
CREATE INDEX ON part (credit_account, created_at) INCLUDE (amount);
DO $$ DECLARE m int; BEGIN
  FOR m IN -12..12 LOOP
    EXECUTE format('CREATE TABLE part_%s PARTITION OF part FOR VALUES FROM (%L) TO (%L)', m + 12,
      date_trunc('month', now()) + make_interval(months => m), date_trunc('month', now()) + make_interval(months => m + 1));
  END LOOP; END $$;
-- preload 200k rows spread over the past year in both
INSERT INTO plain SELECT nextval('tid'), 'transfer', 1 + i % 1000, 1001 + i % 1000, 1, 0, NULL, NULL, now() - (i % 360) * interval '1 day' FROM generate_series(1, 200000) i;
INSERT INTO part SELECT * FROM plain;
VACUUM ANALYZE plain, part;
