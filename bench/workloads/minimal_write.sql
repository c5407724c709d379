-- Yardstick: PostgreSQL's cheapest durable write, a one-row INSERT into an
-- ordinary logged table with a primary key.
\set a random(:buyer_lo, :buyer_hi)
INSERT INTO bench_minimal (account, amount) VALUES (:a, 1);
