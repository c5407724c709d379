-- one posting: an INSERT of a transfer row
\set a random(1, 1000)
INSERT INTO plain (id, kind, debit_account, credit_account, amount) VALUES (nextval('tid'), 'transfer', :a, :a + 1000, 1);
