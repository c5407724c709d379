-- sql/include/fresh_extension.sql (included with \i at the top of each
-- regress file): the file starts from a fresh escrowpay.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS escrowpay CASCADE;
CREATE EXTENSION escrowpay;
RESET client_min_messages;
