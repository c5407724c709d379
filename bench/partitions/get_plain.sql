-- a transfer looked up by its id alone (the fold, refund, checkpoints)
\set i random(1, 200000)
SELECT amount FROM plain WHERE id = :i;
