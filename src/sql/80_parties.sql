-- 80_parties.sql: members (buyers), merchants (sellers with a franchise
-- contract) and institutions (credit institutions and payment agencies).  Contacts are private: no view shows a party's contact.

CREATE TABLE escrow.parties (
    party_no           text PRIMARY KEY CHECK (party_no ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    kind               text NOT NULL CHECK (kind IN ('member', 'merchant', 'institution')),
    name               escrow.text_short NOT NULL CHECK (name <> ''),
    contact            escrow.text_long NOT NULL,
    login_role         name UNIQUE,
    -- members: how they pay by default
    account            bigint,
    -- merchants: where settlements go, and the contract terms;
    -- institutions: the account their money moves through
    settlement_account bigint,
    fee_account        bigint,
    fee_bps            integer NOT NULL DEFAULT 0 CHECK (fee_bps BETWEEN 0 AND 10000),
    inspection_window  interval,
    cooling_off        interval,
    -- institutions: receivables discount (credit finance) and repayment term
    discount_bps       integer NOT NULL DEFAULT 0 CHECK (discount_bps BETWEEN 0 AND 10000),
    repay_within       interval,
    -- institutions: the system account two-stage settlement posts against
    clearing_account   bigint,
    created_at         timestamptz NOT NULL DEFAULT now(),
    -- merchants: how long a shipment may take to be delivered, how long the
    -- merchant has to confirm a return before it is confirmed for it, and
    -- how long a buyer served first has to pay (last: added by 0.2.0, and
    -- an upgraded table has them last too)
    deliver_within     interval,
    refund_within      interval,
    pay_within         interval,
    CHECK ((kind = 'member') = (account IS NOT NULL)),
    CHECK (kind = 'member' OR settlement_account IS NOT NULL),
    CHECK (kind <> 'merchant' OR (inspection_window IS NOT NULL AND cooling_off IS NOT NULL
                                  AND deliver_within IS NOT NULL AND refund_within IS NOT NULL
                                  AND pay_within IS NOT NULL)),
    CHECK (kind <> 'institution' OR repay_within IS NOT NULL),
    CHECK (fee_bps = 0 OR fee_account IS NOT NULL)
);
COMMENT ON TABLE escrow.parties IS
    'Members (buyers: default payment account), merchants (settlement account, inspection window, cooling-off period, delivery, refund and payment deadlines, fee in basis points) and institutions (account, receivables discount, repayment term); contact is private';
COMMENT ON COLUMN escrow.parties.login_role IS
    'database role (member of escrow_party) that sees only this party''s deals';

SELECT pg_catalog.pg_extension_config_dump('escrow.parties', '');
