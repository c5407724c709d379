-- bench/call_cpu.sql -- the CPU time one backend spends in a call, for
-- bench/call_cpu.sh.  call_cpu(call, n) makes n calls from a PL/pgSQL
-- loop in one transaction and returns the backend's time on a CPU per
-- call in microseconds, read from /proc/self/schedstat (the kernel's run
-- time of the process, in nanoseconds): time spent waiting for a CPU on
-- a busy machine is not counted, so the figure holds at any load.  No
-- commit, no client round trip: what the call itself costs.  Buyers and
-- merchants are the 1,000 of each of bench/call_cpu.sh; call i uses buyer
-- i mod 1,000, so with n <= 1,000 no row is touched twice.

CREATE FUNCTION public.call_cpu(call text, n int) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    b bigint;   -- first escrowpay buyer and merchant
    m bigint;
    bb bigint;  -- first baseline buyer and merchant
    bm bigint;
    h bigint[] := array_fill(0::bigint, ARRAY[n]);
    t0 bigint;
BEGIN
    SELECT min(id) INTO b FROM escrow.accounts WHERE owner LIKE 'buyer %';
    SELECT min(id) INTO m FROM escrow.accounts WHERE owner LIKE 'merchant %';
    SELECT min(id) INTO bb FROM baseline.accounts WHERE owner LIKE 'buyer %';
    SELECT min(id) INTO bm FROM baseline.accounts WHERE owner LIKE 'merchant %';
    -- the holds a capture takes, placed first and not counted
    FOR i IN 1..n LOOP
        CASE call
            WHEN 'capture' THEN h[i] := escrow.hold(b + i % 1000, m + (i * 7) % 1000, 1);
            WHEN 'base_capture' THEN h[i] := baseline.hold(bb + i % 1000, bm + (i * 7) % 1000, 1);
            ELSE EXIT;
        END CASE;
    END LOOP;
    t0 := split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint;
    FOR i IN 1..n LOOP
        CASE call
            WHEN 'minimal_write' THEN INSERT INTO bench_minimal (account, amount) VALUES (i, 1);
            WHEN 'hold' THEN PERFORM escrow.hold(b + i % 1000, m + (i * 7) % 1000, 1);
            WHEN 'base_hold' THEN PERFORM baseline.hold(bb + i % 1000, bm + (i * 7) % 1000, 1);
            WHEN 'capture' THEN PERFORM escrow.capture(h[i]);
            WHEN 'base_capture' THEN PERFORM baseline.capture(h[i]);
            WHEN 'transfer' THEN PERFORM escrow.transfer(b + i % 1000, m + (i * 7) % 1000, 1);
            WHEN 'base_transfer' THEN PERFORM baseline.transfer(bb + i % 1000, bm + (i * 7) % 1000, 1);
        END CASE;
    END LOOP;
    RETURN round((split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint - t0)
                 / 1000.0 / n, 1);
END
$$;
