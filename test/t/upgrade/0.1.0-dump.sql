-- test/t/upgrade/0.1.0-dump.sql -- a database of escrowpay 0.1.0, as
-- release 0.1.0 left it: test/t/upgrade/0.1.0-activity.sql run with the
-- library of release 0.1.0 (built from the release commit), then
-- pg_dump.  Frozen: it is what a 0.1.0 user's database looks like, and
-- test/t/007_upgrade.pl restores it (CREATE EXTENSION VERSION '0.1.0'
-- pinned below) and upgrades it.  Made by
--   make install (0.1.0's tree); scripts/cluster.sh; createdb fixture
--   psql -d fixture -c "CREATE EXTENSION escrowpay VERSION '0.1.0'"
--   psql -d fixture -f test/t/upgrade/0.1.0-activity.sql   (escrowpay.hmac_key set)
--   pg_dump -d fixture
-- with pg_dump's \restrict lines left out, the version pinned, and the
-- party login roles (pg_dump leaves roles out) created here.

CREATE ROLE upgrade_buyer LOGIN;
CREATE ROLE upgrade_shop LOGIN;

--
-- PostgreSQL database dump
--


-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: escrow; Type: SCHEMA; Schema: -; Owner: postgres
--

CREATE SCHEMA escrow;


ALTER SCHEMA escrow OWNER TO postgres;

--
-- Name: SCHEMA escrow; Type: COMMENT; Schema: -; Owner: postgres
--

COMMENT ON SCHEMA escrow IS 'escrowpay: escrow payments (holds, captures, refunds, deals) inside PostgreSQL';


--
-- Name: escrowpay; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS escrowpay WITH SCHEMA escrow VERSION '0.1.0';


--
-- Name: EXTENSION escrowpay; Type: COMMENT; Schema: -; Owner: 
--

COMMENT ON EXTENSION escrowpay IS 'Escrow payments: holds, captures, refunds and deal lifecycle in the database';

GRANT escrow_party TO upgrade_buyer, upgrade_shop;


--
-- Data for Name: currencies; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.currencies (code, exponent, name, builtin) FROM stdin;
XTS	2	Testing currency	f
\.


--
-- Data for Name: accounts; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.accounts (id, owner, kind, currency, posted, held, credit_limit, entry_count, chain_head, shards, parent, created_at) FROM stdin;
3	old-shared-2	deposit	EUR	100000	0	0	1	\\xe308d80366ebdc7bd092ada2032a9260786e71facb2e0f11f2afe5976d58b5f5	0	\N	2026-12-03 08:03:23.379617+00
6	escrow:shard	shard	EUR	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	4	2026-12-03 08:03:23.379617+00
7	escrow:shard	shard	EUR	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	4	2026-12-03 08:03:23.379617+00
8	escrow:shard	shard	EUR	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	4	2026-12-03 08:03:23.379617+00
4	old-shared-hot	deposit	EUR	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	4	\N	2026-12-03 08:03:23.379617+00
10	old-shared-jpy	deposit	JPY	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	\N	2026-12-03 08:03:23.379617+00
12	escrow:shard	shard	JPY	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	9	2026-12-03 08:03:23.379617+00
9	escrow:funding	system	JPY	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	2	\N	2026-12-03 08:03:23.379617+00
14	old-c1-d2	deposit	EUR	200001	0	0	5	\\xdf9d770e4e862178666b9804f27752757a18e2e8b4d6d9760fc7b5f7fd08cf7c	0	\N	2026-12-03 08:03:23.47+00
13	old-c1-d1	deposit	EUR	1001900	2200	0	9	\\x7ce8fed22ea4586fe4a450f9294e15917445304942f01b4ad87d7cfd244d1b5f	0	\N	2026-12-03 08:03:23.47+00
16	old-c1-s	deposit	EUR	-1022	0	0	2	\\xba5a64b0aee3637ad98908b5a2b1478a166fd8bcc1abde6c76414602da5997cb	2	\N	2026-12-03 08:03:23.47+00
15	old-c1-cr	credit	EUR	-4000	2500	300000	1	\\x299b8efde0264256f6b3f189fe2c992e974c21bea8e46ced5f4be110c2f31e8a	0	\N	2026-12-03 08:03:23.47+00
20	escrow:shard	shard	EUR	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	16	2026-12-03 08:03:23.47+00
18	old-c1-j	deposit	JPY	5000000	0	0	1	\\xb3408c05abe1a2d7f930532fd4290c6927922aaabf9b36a948a6ad9b16d17006	0	\N	2026-12-03 08:03:23.47+00
19	escrow:shard	shard	EUR	53001	0	0	5	\\x7db944f86406bf4ebc850d726fe5a242bc5d89167550f5cac18c726ef77c1d68	0	16	2026-12-03 08:03:23.47+00
17	old-c1-f	deposit	EUR	22	0	0	1	\\x84b9855b2cbedf3a01267f15cb7b072fe52434c51c834bd4e1223bdb5ec670fd	0	\N	2026-12-03 08:03:23.47+00
28	escrow:shard	shard	EUR	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	24	2026-12-03 08:03:23.47+00
26	old-c2-j	deposit	JPY	5000000	0	0	1	\\x063610fc74d7366356fcee934c42015352bcdaba3cf5137b2dffa131b5000b4a	0	\N	2026-12-03 08:03:23.47+00
22	old-c2-d2	deposit	EUR	199902	0	0	5	\\x75d8a3a1a58c661ad5fdfe68724d5057cb40b862880ad1e73d13e31ad1e610db	0	\N	2026-12-03 08:03:23.47+00
21	old-c2-d1	deposit	EUR	1001899	2200	0	9	\\x833594f0e0eddd9b8437955feebcfd649d8e3ea1f9c1c6e0751db1bb55510528	0	\N	2026-12-03 08:03:23.47+00
27	escrow:shard	shard	EUR	53002	0	0	5	\\x52768d892490f7f214770c21fc9f613f302e333e90f301db355d8c6591e1c388	0	24	2026-12-03 08:03:23.47+00
24	old-c2-s	deposit	EUR	-1030	0	0	2	\\x1aee1d45f383b7d7c481780deb79111710b4c181ca608b338e7f6324834a4a94	2	\N	2026-12-03 08:03:23.47+00
25	old-c2-f	deposit	EUR	30	0	0	1	\\x6786ab86dcc61f0d311db4a0532cedbee335629f153e0e1dbc929b8ab7d17edf	0	\N	2026-12-03 08:03:23.47+00
23	old-c2-cr	credit	EUR	-4000	2500	300000	1	\\x0768e6fa13cb125bcb75b28798b24eb6df4f9b040433dd30d33b99e7fa2fd682	0	\N	2026-12-03 08:03:23.47+00
36	escrow:shard	shard	EUR	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	32	2026-12-03 08:03:23.47+00
11	escrow:shard	shard	JPY	-15000000	0	0	3	\\x1330704fe9c52afcdcf70d57907a3950a560f4987e784dba54b329d095ff85f5	0	9	2026-12-03 08:03:23.379617+00
34	old-c3-j	deposit	JPY	5000000	0	0	1	\\x0077d941f6294088ac849d36c4d88d7f0ef4a2fbf90680f8d7f8faccdef0570f	0	\N	2026-12-03 08:03:23.47+00
1	escrow:funding	system	EUR	-4064407	0	0	19	\\x432a8674c471fe989a9f46b0d97e9e15d67a471df28b999aba8cff92287cf495	0	\N	2026-12-03 08:03:23.379617+00
2	old-shared-1	deposit	EUR	112000	0	0	4	\\xf677a8883b4d93f73c388fb7f9ba137035694165cef3f6eba9690f57e62d654c	0	\N	2026-12-03 08:03:23.379617+00
30	old-c3-d2	deposit	EUR	199803	0	0	5	\\x70df0b8e7daecd4fc49ba168d7f7ed55be7501b4ac00d4921be382616405bbb8	0	\N	2026-12-03 08:03:23.47+00
5	escrow:shard	shard	EUR	102998	0	0	5	\\xcbaff20ded44757cb4f0b4c6c7bc4cb90c5c6165ac7ecfcca824002543e82208	0	4	2026-12-03 08:03:23.379617+00
29	old-c3-d1	deposit	EUR	1001898	2200	0	9	\\xe98cf289fd99f69b1ee21ef7c6630b5ffd3a56135c2c82b3a9610b3f9d4a7b21	0	\N	2026-12-03 08:03:23.47+00
35	escrow:shard	shard	EUR	53003	0	0	5	\\xbaabfe70df634ce08311a8655b86795639a2ee917fc170f06e4654acb6a59ac9	0	32	2026-12-03 08:03:23.47+00
32	old-c3-s	deposit	EUR	-1037	0	0	2	\\xedb498b28e31248b08fcd3334f4592ee64906f071d63704f5f6109a9ba798ca7	2	\N	2026-12-03 08:03:23.47+00
33	old-c3-f	deposit	EUR	37	0	0	1	\\x691c6f65fe6c0b5f296ef27b5a6211ef282a55793fc22ce9160f0aa5ad3e0aa8	0	\N	2026-12-03 08:03:23.47+00
31	old-c3-cr	credit	EUR	-4000	2500	300000	1	\\xf00a0994c47981fcc5b4a64cab806a45955bebbf7b89c3b72c89ebab3929db5e	0	\N	2026-12-03 08:03:23.47+00
37	escrow:funding	system	XTS	-12345	0	0	1	\\xad21e487273989ed41d8e467d4c93df3ffbb87e935752c96d1a1378f0c16d2b1	0	\N	2026-12-03 08:03:23.837976+00
38	u-xts	deposit	XTS	12345	0	0	1	\\x9323f32f08b9701800f909baa9f94a229d697536fc869f9d51cbfd931ae36078	0	\N	2026-12-03 08:03:23.837976+00
49	u-clearing	system	USD	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	\N	2026-12-03 08:03:23.869204+00
51	escrow:shard	shard	USD	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	43	2026-12-03 08:03:23.869204+00
52	escrow:shard	shard	USD	0	0	0	0	\\x0000000000000000000000000000000000000000000000000000000000000000	0	43	2026-12-03 08:03:23.869204+00
42	u-line	credit	USD	-8220	8154	60000	7	\\x35d378eea78e43e36801e83cc00bd6c96d1322fd70b146d6154bd5c3b19986b2	0	\N	2026-12-03 08:03:23.869204+00
46	u-bank	deposit	USD	495224	0	0	10	\\x00011d9ec5c3bbcea795b2ff987a1e5e98838033e9746b0043b43643912064ba	0	\N	2026-12-03 08:03:23.869204+00
39	escrow:funding	system	USD	-1275600	0	0	9	\\x143f427784afcba068ed26a1619138dfa480ccef75ca724e7d4f69051b69b48d	0	\N	2026-12-03 08:03:23.869204+00
41	u-other	deposit	USD	38579	321	0	4	\\x674e813aa2e54d3835d6b55b5bd302be454841f00c77d8573b8b5c3277c617c1	0	\N	2026-12-03 08:03:23.869204+00
50	escrow:shard	shard	USD	38591	0	0	13	\\x9b4ded7040f90ce204541822abfadc859b48fc49be8b4ce4743a209a1d8963cc	0	43	2026-12-03 08:03:23.869204+00
48	u-till	deposit	USD	25800	1300	0	5	\\xf4519ba04bfacc2e796b77dd11b4d4c2192807719bd6f9d7dc137f1960fba7e6	0	\N	2026-12-03 08:03:23.869204+00
40	u-wallet	deposit	USD	200000	9700	0	12	\\x679cf5cc90069aa57a96afd43b21bb854a264cd7ad960cfd6e35f3680c9ed374	0	\N	2026-12-03 08:03:23.869204+00
43	u-shop	deposit	USD	-38591	0	0	11	\\x724da75334d7eb6382800615f17599f6320329ba8304e8d44eec48a78e4fdadd	3	\N	2026-12-03 08:03:23.869204+00
45	u-fast	deposit	USD	2839	0	0	4	\\x0df9851a3cb7b80156726046501ada43e09f809b4f608759f71cd83481cfe158	0	\N	2026-12-03 08:03:23.869204+00
44	u-fees	deposit	USD	541	0	0	9	\\x27c97affa7008928f15b5347a07eff96c8545370bc6053abccd3d0d6e86b85c2	0	\N	2026-12-03 08:03:23.869204+00
47	u-agency	deposit	USD	495290	0	0	6	\\x266870d7ac4bf117bee5faa33c3371ac9cae5a7239e785b826dc9bbaef58926a	0	\N	2026-12-03 08:03:23.869204+00
53	escrow:clearing:U-BANK	system	USD	25547	0	0	2	\\xdb4957b3d8326f3aebf3b5a5b9a9261425f8b3c8711f0c4acfb5bfc621d354b7	0	\N	2026-12-03 08:03:23.869204+00
\.


--
-- Data for Name: parties; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.parties (party_no, kind, name, contact, login_role, account, settlement_account, fee_account, fee_bps, inspection_window, cooling_off, discount_bps, repay_within, clearing_account, created_at) FROM stdin;
old-m1	member	member 1	old-m1@example.org	\N	13	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.47+00
old-k1	member	credit member 1	old-k1@example.org	\N	15	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.47+00
old-j1	member	yen member 1	old-j1@example.org	\N	18	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.47+00
old-s1	merchant	shop 1	old-s1@example.org	\N	\N	16	17	150	3 days	8 days	0	\N	\N	2026-12-03 08:03:23.47+00
old-m2	member	member 2	old-m2@example.org	\N	21	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.47+00
old-k2	member	credit member 2	old-k2@example.org	\N	23	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.47+00
old-j2	member	yen member 2	old-j2@example.org	\N	26	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.47+00
old-s2	merchant	shop 2	old-s2@example.org	\N	\N	24	25	200	3 days	8 days	0	\N	\N	2026-12-03 08:03:23.47+00
old-m3	member	member 3	old-m3@example.org	\N	29	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.47+00
old-k3	member	credit member 3	old-k3@example.org	\N	31	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.47+00
old-j3	member	yen member 3	old-j3@example.org	\N	34	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.47+00
old-s3	merchant	shop 3	old-s3@example.org	\N	\N	32	33	250	3 days	8 days	0	\N	\N	2026-12-03 08:03:23.47+00
U-M1	member	Upgrade buyer	buyer@upgrade.test	upgrade_buyer	40	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.869204+00
U-M2	member	Second buyer	second@upgrade.test	\N	41	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.869204+00
U-K1	member	Credit buyer	credit@upgrade.test	\N	42	\N	\N	0	\N	\N	0	\N	\N	2026-12-03 08:03:23.869204+00
U-S1	merchant	Upgrade shop	shop@upgrade.test	upgrade_shop	\N	43	44	250	3 days	8 days	0	\N	\N	2026-12-03 08:03:23.869204+00
U-FAST	merchant	Fast shop	fast@upgrade.test	\N	\N	45	\N	0	00:00:01	00:00:01	0	\N	\N	2026-12-03 08:03:23.869204+00
U-AGY	institution	Upgrade agency	agency@upgrade.test	\N	\N	47	\N	0	\N	\N	0	14 days	\N	2026-12-03 08:03:23.869204+00
U-BANK	institution	Upgrade bank	bank@upgrade.test	\N	\N	46	\N	0	\N	\N	300	30 days	53	2026-12-03 08:03:23.869204+00
\.


--
-- Data for Name: deals; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.deals (id, txn_no, buyer, merchant, amount, currency, payment_method, debit_account, credit_account, fee_account, fee_bps, inspection_place, carrier, provider, inspector, tracking, stage, settlement, institution, institution_account, discount_bps, repay_within, prepay_transfer, ship_within, inspection_window, cooling_off, deadline, hold_id, capture_transfer, fee_transfer, held, captured, refunded, fee, auth_no, code_hmac, code_expires_at, code_attempts, created_at, updated_at) FROM stdin;
1	EP00000000018	old-m1	old-s1	1501	EUR	balance	13	16	17	150	\N	DHL	\N	\N	v010-1	settled	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-11 08:03:23.613811+00	6	19	20	0	1501	0	22	1789498375	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
2	EP00000000026	old-k1	old-s1	2500	EUR	credit	15	16	17	150	\N	\N	\N	old-i1	\N	funds_reserved	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-10 08:03:23.627201+00	7	\N	\N	2500	0	0	0	9084172724	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
3	EP00000000034	old-m1	old-s1	700	EUR	balance	13	16	17	150	\N	\N	\N	\N	\N	order_received	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	\N	\N	\N	0	0	0	0	\N	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
4	EP00000000042	old-m1	old-s1	900	EUR	balance	13	16	17	150	\N	\N	\N	\N	\N	cancelled	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	\N	\N	\N	0	0	0	0	\N	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
5	EP00000000059	old-m2	old-s2	1502	EUR	balance	21	24	25	200	\N	DHL	\N	\N	v010-5	settled	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-11 08:03:23.709697+00	13	35	36	0	1502	0	30	2212107636	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
14	EP00000000141	U-M1	U-S1	1100	USD	balance	40	43	44	250	\N	\N	\N	\N	\N	order_received	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	\N	\N	\N	0	0	0	0	\N	\\xde274a2de28e53bd6b7322aa2284a27187eda01c175b1d9eddc9603875d5a155	2026-12-03 08:18:23.971351+00	0	2026-12-03 08:03:23.970006+00	2026-12-03 08:03:23.970006+00
6	EP00000000067	old-k2	old-s2	2500	EUR	credit	23	24	25	200	\N	\N	\N	old-i2	\N	funds_reserved	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-10 08:03:23.732257+00	14	\N	\N	2500	0	0	0	6935058537	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
7	EP00000000075	old-m2	old-s2	700	EUR	balance	21	24	25	200	\N	\N	\N	\N	\N	order_received	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	\N	\N	\N	0	0	0	0	\N	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
8	EP00000000083	old-m2	old-s2	900	EUR	balance	21	24	25	200	\N	\N	\N	\N	\N	cancelled	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	\N	\N	\N	0	0	0	0	\N	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
17	EP00000000174	U-K1	U-S1	1400	USD	credit	42	43	44	250	\N	Yamato	\N	\N	u-17	shipped	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	23	\N	\N	1400	0	0	0	6878536411	\N	\N	0	2026-12-03 08:03:24.011666+00	2026-12-03 08:03:24.011666+00
15	EP00000000158	U-M1	U-S1	1200	USD	balance	40	43	44	250	\N	\N	\N	\N	\N	identity_confirmed	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	\N	\N	\N	0	0	0	0	\N	\N	\N	0	2026-12-03 08:03:23.986243+00	2026-12-03 08:03:23.986243+00
9	EP00000000091	old-m3	old-s3	1503	EUR	balance	29	32	33	250	\N	DHL	\N	\N	v010-9	settled	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-11 08:03:23.797505+00	20	51	52	0	1503	0	37	7749377364	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
10	EP00000000109	old-k3	old-s3	2500	EUR	credit	31	32	33	250	\N	\N	\N	old-i3	\N	funds_reserved	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-10 08:03:23.815713+00	21	\N	\N	2500	0	0	0	8948821872	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
11	EP00000000117	old-m3	old-s3	700	EUR	balance	29	32	33	250	\N	\N	\N	\N	\N	order_received	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	\N	\N	\N	0	0	0	0	\N	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
12	EP00000000125	old-m3	old-s3	900	EUR	balance	29	32	33	250	\N	\N	\N	\N	\N	cancelled	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	\N	\N	\N	0	0	0	0	\N	\N	\N	0	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00
13	EP00000000133	U-M1	U-S1	1000	USD	balance	40	43	44	250	\N	\N	\N	\N	\N	order_received	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	\N	\N	\N	0	0	0	0	\N	\N	\N	0	2026-12-03 08:03:23.955143+00	2026-12-03 08:03:23.955143+00
16	EP00000000166	U-M1	U-S1	1300	USD	balance	40	43	44	250	\N	\N	\N	\N	\N	funds_reserved	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-10 08:03:24.007147+00	22	\N	\N	1300	0	0	0	7902566007	\N	\N	0	2026-12-03 08:03:23.996509+00	2026-12-03 08:03:23.996509+00
18	EP00000000182	U-M1	U-S1	1500	USD	balance	40	43	44	250	\N	Yamato	\N	\N	u-18	delivered	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-06 08:03:24.037379+00	24	\N	\N	1500	0	0	0	4152447029	\N	\N	0	2026-12-03 08:03:24.034919+00	2026-12-03 08:03:24.034919+00
20	EP00000000208	U-M1	U-S1	1700	USD	balance	40	43	44	250	\N	\N	\N	\N	\N	cancelled	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	26	\N	\N	0	0	0	0	7892841919	\N	\N	0	2026-12-03 08:03:24.065965+00	2026-12-03 08:03:24.065965+00
19	EP00000000190	U-M1	U-S1	1600	USD	balance	40	43	44	250	\N	Yamato	\N	\N	u-19	settled	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-11 08:03:24.05338+00	25	60	61	0	1600	0	40	5800558693	\N	\N	0	2026-12-03 08:03:24.049028+00	2026-12-03 08:03:24.049028+00
23	EP00000000232	U-M1	U-S1	2000	USD	balance	40	43	44	250	\N	Yamato	\N	\N	u-23	refunded	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	29	64	65	0	2000	2000	0	9465170684	\N	\N	0	2026-12-03 08:03:24.115745+00	2026-12-03 08:03:24.137965+00
21	EP00000000216	U-M1	U-S1	1800	USD	balance	40	43	44	250	\N	Yamato	\N	\N	u-21	returned	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	27	\N	\N	1800	0	0	0	0949447316	\N	\N	0	2026-12-03 08:03:24.080202+00	2026-12-03 08:03:24.080202+00
22	EP00000000224	U-K1	U-S1	1900	USD	credit	42	43	44	250	\N	Yamato	\N	\N	u-22	returned	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	28	62	63	0	1900	0	47	6401516992	\N	\N	0	2026-12-03 08:03:24.094034+00	2026-12-03 08:03:24.094034+00
25	EP00000000257	U-M1	U-S1	2200	USD	balance	40	43	44	250	\N	Yamato	\N	\N	u-25	resolved	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	31	68	69	0	1200	0	30	1091207759	\N	\N	0	2026-12-03 08:03:24.153976+00	2026-12-03 08:03:24.170056+00
24	EP00000000240	U-M1	U-S1	2100	USD	balance	40	43	44	250	\N	Yamato	\N	\N	u-24	disputed	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	30	\N	\N	2100	0	0	0	3186270950	\N	\N	0	2026-12-03 08:03:24.14203+00	2026-12-03 08:03:24.14203+00
26	EP00000000265	U-M1	U-S1	4000	USD	split	40	43	44	250	\N	\N	\N	\N	\N	funds_reserved	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-10 08:03:24.176756+00	\N	\N	\N	4000	0	0	0	5185088635	\N	\N	0	2026-12-03 08:03:24.175166+00	2026-12-03 08:03:24.185977+00
27	EP00000000273	U-M1	U-S1	4100	USD	split	42	43	44	250	\N	Sagawa	\N	\N	u-split	settled	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-11 08:03:24.221081+00	\N	\N	72	0	4100	0	102	6535805909	\N	\N	0	2026-12-03 08:03:24.190909+00	2026-12-03 08:03:24.219387+00
28	EP00000000281	U-K1	U-S1	5000	USD	credit	42	43	44	0	\N	Yamato	\N	\N	u-28	settled	credit_finance	U-BANK	46	300	30 days	73	7 days	3 days	8 days	2026-12-11 08:03:24.261778+00	38	74	\N	0	5000	0	0	5431847834	\N	\N	0	2026-12-03 08:03:24.230043+00	2026-12-03 08:03:24.230043+00
29	EP00000000299	U-K1	U-S1	5100	USD	credit	42	43	44	0	\N	\N	\N	\N	\N	funds_reserved	credit_finance	U-BANK	46	300	30 days	76	7 days	3 days	8 days	2026-12-10 08:03:24.285603+00	39	\N	\N	5100	0	0	0	9823679355	\N	\N	0	2026-12-03 08:03:24.283297+00	2026-12-03 08:03:24.283297+00
30	EP00000000307	U-K1	U-S1	5200	USD	credit	42	43	44	0	\N	Yamato	\N	\N	u-30	refunded	credit_finance	U-BANK	46	300	30 days	77	7 days	3 days	8 days	\N	40	78	\N	0	5200	5200	0	2410239800	\N	\N	0	2026-12-03 08:03:24.293205+00	2026-12-03 08:03:24.310039+00
31	EP00000000315	U-M1	U-S1	6000	USD	balance	40	43	44	250	\N	Yamato	\N	\N	u-31	settled	agency	U-AGY	47	0	14 days	\N	7 days	3 days	8 days	2026-12-11 08:03:24.319912+00	\N	81	82	0	6000	0	150	5704313078	\N	\N	0	2026-12-03 08:03:24.313943+00	2026-12-03 08:03:24.313943+00
35	EP00000000356	U-M2	U-FAST	710	USD	balance	41	45	\N	0	\N	Yamato	\N	\N	u-35	completed	agency	U-AGY	47	0	14 days	\N	7 days	00:00:01	00:00:01	\N	\N	88	\N	0	710	0	0	8077002750	\N	\N	0	2026-12-03 08:03:24.371747+00	2026-12-03 08:03:25.628396+00
32	EP00000000323	U-M2	U-S1	6100	USD	balance	41	43	44	250	\N	Yamato	\N	\N	u-32	settled	agency	U-AGY	47	0	14 days	\N	7 days	3 days	8 days	2026-12-11 08:03:24.337698+00	\N	84	85	0	6100	0	152	6826823153	\N	\N	0	2026-12-03 08:03:24.332826+00	2026-12-03 08:03:24.332826+00
33	EP00000000331	U-M1	U-S1	6200	USD	balance	40	43	44	250	\N	Yamato	\N	\N	u-33	delivered	agency	U-AGY	47	0	14 days	\N	7 days	3 days	8 days	2026-12-06 08:03:24.354846+00	\N	\N	\N	0	0	0	0	3014622126	\N	\N	0	2026-12-03 08:03:24.353137+00	2026-12-03 08:03:24.353137+00
36	EP00000000364	U-K1	U-FAST	720	USD	credit	42	45	\N	0	\N	Yamato	\N	\N	u-36	completed	credit_finance	U-BANK	46	300	30 days	89	7 days	00:00:01	00:00:01	\N	42	90	\N	0	720	0	0	1763345296	\N	\N	0	2026-12-03 08:03:24.389123+00	2026-12-03 08:03:25.628396+00
38	EP00000000380	U-M1	U-FAST	740	USD	balance	40	45	\N	0	\N	\N	\N	\N	\N	expired	escrow	\N	\N	0	\N	\N	00:00:01	00:00:01	00:00:01	\N	44	\N	\N	0	0	0	0	7277509175	\N	\N	0	2026-12-03 08:03:24.413851+00	2026-12-03 08:03:25.628396+00
37	EP00000000372	U-M1	U-FAST	730	USD	balance	40	45	\N	0	\N	Yamato	\N	\N	u-37	completed	escrow	\N	\N	0	\N	\N	7 days	00:00:01	00:00:01	\N	43	91	\N	0	730	0	0	2272698741	\N	\N	0	2026-12-03 08:03:24.404792+00	2026-12-03 08:03:26.849952+00
34	EP00000000349	U-M1	U-FAST	700	USD	balance	40	45	\N	0	\N	Yamato	\N	\N	u-34	completed	escrow	\N	\N	0	\N	\N	7 days	00:00:01	00:00:01	\N	41	87	\N	0	700	0	0	7176600112	\N	\N	0	2026-12-03 08:03:24.362086+00	2026-12-03 08:03:25.628396+00
39	EP00000000398	U-M2	U-S1	1300	USD	cash	48	43	44	250	\N	\N	\N	\N	\N	funds_reserved	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-10 08:03:26.856697+00	45	\N	\N	1300	0	0	0	\N	\N	\N	0	2026-12-03 08:03:26.850597+00	2026-12-03 08:03:26.85568+00
40	EP00000000406	U-M2	U-S1	800	USD	cash	48	43	44	250	\N	\N	\N	\N	\N	settled	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	2026-12-11 08:03:26.874784+00	46	94	95	0	800	0	20	\N	\N	\N	0	2026-12-03 08:03:26.857946+00	2026-12-03 08:03:26.873553+00
41	EP00000000414	U-M2	U-S1	900	USD	balance	41	43	44	250	\N	\N	\N	\N	\N	delivered	escrow	\N	\N	0	\N	\N	7 days	3 days	8 days	\N	\N	\N	\N	0	0	0	0	\N	\N	\N	0	2026-12-03 08:03:26.881033+00	2026-12-03 08:03:26.88277+00
\.


--
-- Data for Name: deal_events; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.deal_events (id, deal, action, from_stage, to_stage, actor, at, payload) FROM stdin;
1	1	open_deal	\N	order_received	old-m1	2026-12-03 08:03:23.47+00	{"amount": 1501, "txn_no": "EP00000000018"}
2	1	issue_identity_code	order_received	order_received	old-m1	2026-12-03 08:03:23.47+00	{"valid_seconds": 900}
3	1	confirm_identity	order_received	identity_confirmed	old-m1	2026-12-03 08:03:23.47+00	{}
4	1	reserve	identity_confirmed	funds_reserved	old-m1	2026-12-03 08:03:23.47+00	{"held": 1501, "hold": 6, "auth_no": "1789498375"}
5	1	mark_shipped	funds_reserved	shipped	old-s1	2026-12-03 08:03:23.47+00	{"carrier": "DHL", "tracking": "v010-1"}
6	1	mark_delivered	shipped	delivered	old-s1	2026-12-03 08:03:23.47+00	{}
7	1	confirm_inspection	delivered	settled	old-m1	2026-12-03 08:03:23.47+00	{"fee": 22, "merchant_in": 1501, "capture_transfer": 19}
8	2	open_deal	\N	order_received	old-k1	2026-12-03 08:03:23.47+00	{"amount": 2500, "txn_no": "EP00000000026"}
9	2	issue_identity_code	order_received	order_received	old-k1	2026-12-03 08:03:23.47+00	{"valid_seconds": 900}
10	2	confirm_identity	order_received	identity_confirmed	old-k1	2026-12-03 08:03:23.47+00	{}
11	2	reserve	identity_confirmed	funds_reserved	old-k1	2026-12-03 08:03:23.47+00	{"held": 2500, "hold": 7, "auth_no": "9084172724"}
12	3	open_deal	\N	order_received	old-m1	2026-12-03 08:03:23.47+00	{"amount": 700, "txn_no": "EP00000000034"}
13	4	open_deal	\N	order_received	old-m1	2026-12-03 08:03:23.47+00	{"amount": 900, "txn_no": "EP00000000042"}
14	4	cancel_deal	order_received	cancelled	old-m1	2026-12-03 08:03:23.47+00	{"reason": "changed my mind", "released": 0}
15	5	open_deal	\N	order_received	old-m2	2026-12-03 08:03:23.47+00	{"amount": 1502, "txn_no": "EP00000000059"}
16	5	issue_identity_code	order_received	order_received	old-m2	2026-12-03 08:03:23.47+00	{"valid_seconds": 900}
17	5	confirm_identity	order_received	identity_confirmed	old-m2	2026-12-03 08:03:23.47+00	{}
18	5	reserve	identity_confirmed	funds_reserved	old-m2	2026-12-03 08:03:23.47+00	{"held": 1502, "hold": 13, "auth_no": "2212107636"}
19	5	mark_shipped	funds_reserved	shipped	old-s2	2026-12-03 08:03:23.47+00	{"carrier": "DHL", "tracking": "v010-5"}
20	5	mark_delivered	shipped	delivered	old-s2	2026-12-03 08:03:23.47+00	{}
21	5	confirm_inspection	delivered	settled	old-m2	2026-12-03 08:03:23.47+00	{"fee": 30, "merchant_in": 1502, "capture_transfer": 35}
22	6	open_deal	\N	order_received	old-k2	2026-12-03 08:03:23.47+00	{"amount": 2500, "txn_no": "EP00000000067"}
23	6	issue_identity_code	order_received	order_received	old-k2	2026-12-03 08:03:23.47+00	{"valid_seconds": 900}
24	6	confirm_identity	order_received	identity_confirmed	old-k2	2026-12-03 08:03:23.47+00	{}
25	6	reserve	identity_confirmed	funds_reserved	old-k2	2026-12-03 08:03:23.47+00	{"held": 2500, "hold": 14, "auth_no": "6935058537"}
26	7	open_deal	\N	order_received	old-m2	2026-12-03 08:03:23.47+00	{"amount": 700, "txn_no": "EP00000000075"}
27	8	open_deal	\N	order_received	old-m2	2026-12-03 08:03:23.47+00	{"amount": 900, "txn_no": "EP00000000083"}
28	8	cancel_deal	order_received	cancelled	old-m2	2026-12-03 08:03:23.47+00	{"reason": "changed my mind", "released": 0}
29	9	open_deal	\N	order_received	old-m3	2026-12-03 08:03:23.47+00	{"amount": 1503, "txn_no": "EP00000000091"}
30	9	issue_identity_code	order_received	order_received	old-m3	2026-12-03 08:03:23.47+00	{"valid_seconds": 900}
31	9	confirm_identity	order_received	identity_confirmed	old-m3	2026-12-03 08:03:23.47+00	{}
32	9	reserve	identity_confirmed	funds_reserved	old-m3	2026-12-03 08:03:23.47+00	{"held": 1503, "hold": 20, "auth_no": "7749377364"}
33	9	mark_shipped	funds_reserved	shipped	old-s3	2026-12-03 08:03:23.47+00	{"carrier": "DHL", "tracking": "v010-9"}
34	9	mark_delivered	shipped	delivered	old-s3	2026-12-03 08:03:23.47+00	{}
35	9	confirm_inspection	delivered	settled	old-m3	2026-12-03 08:03:23.47+00	{"fee": 37, "merchant_in": 1503, "capture_transfer": 51}
36	10	open_deal	\N	order_received	old-k3	2026-12-03 08:03:23.47+00	{"amount": 2500, "txn_no": "EP00000000109"}
37	10	issue_identity_code	order_received	order_received	old-k3	2026-12-03 08:03:23.47+00	{"valid_seconds": 900}
38	10	confirm_identity	order_received	identity_confirmed	old-k3	2026-12-03 08:03:23.47+00	{}
39	10	reserve	identity_confirmed	funds_reserved	old-k3	2026-12-03 08:03:23.47+00	{"held": 2500, "hold": 21, "auth_no": "8948821872"}
40	11	open_deal	\N	order_received	old-m3	2026-12-03 08:03:23.47+00	{"amount": 700, "txn_no": "EP00000000117"}
41	12	open_deal	\N	order_received	old-m3	2026-12-03 08:03:23.47+00	{"amount": 900, "txn_no": "EP00000000125"}
42	12	cancel_deal	order_received	cancelled	old-m3	2026-12-03 08:03:23.47+00	{"reason": "changed my mind", "released": 0}
43	13	open_deal	\N	order_received	U-M1	2026-12-03 08:03:23.955143+00	{"amount": 1000, "txn_no": "EP00000000133"}
44	14	open_deal	\N	order_received	U-M1	2026-12-03 08:03:23.970006+00	{"amount": 1100, "txn_no": "EP00000000141"}
45	14	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:23.970006+00	{"valid_seconds": 900}
46	15	open_deal	\N	order_received	U-M1	2026-12-03 08:03:23.986243+00	{"amount": 1200, "txn_no": "EP00000000158"}
47	15	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:23.986243+00	{"valid_seconds": 900}
48	15	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:23.986243+00	{}
49	16	open_deal	\N	order_received	U-M1	2026-12-03 08:03:23.996509+00	{"amount": 1300, "txn_no": "EP00000000166"}
50	16	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:23.996509+00	{"valid_seconds": 900}
51	16	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:23.996509+00	{}
52	16	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:23.996509+00	{"held": 1300, "hold": 22, "auth_no": "7902566007"}
53	17	open_deal	\N	order_received	U-K1	2026-12-03 08:03:24.011666+00	{"amount": 1400, "txn_no": "EP00000000174"}
54	17	issue_identity_code	order_received	order_received	U-K1	2026-12-03 08:03:24.011666+00	{"valid_seconds": 900}
55	17	confirm_identity	order_received	identity_confirmed	U-K1	2026-12-03 08:03:24.011666+00	{}
56	17	reserve	identity_confirmed	funds_reserved	U-K1	2026-12-03 08:03:24.011666+00	{"held": 1400, "hold": 23, "auth_no": "6878536411"}
57	17	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.011666+00	{"carrier": "Yamato", "tracking": "u-17"}
58	18	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.034919+00	{"amount": 1500, "txn_no": "EP00000000182"}
59	18	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.034919+00	{"valid_seconds": 900}
60	18	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.034919+00	{}
61	18	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.034919+00	{"held": 1500, "hold": 24, "auth_no": "4152447029"}
62	18	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.034919+00	{"carrier": "Yamato", "tracking": "u-18"}
63	18	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.034919+00	{}
64	19	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.049028+00	{"amount": 1600, "txn_no": "EP00000000190"}
65	19	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.049028+00	{"valid_seconds": 900}
66	19	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.049028+00	{}
67	19	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.049028+00	{"held": 1600, "hold": 25, "auth_no": "5800558693"}
68	19	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.049028+00	{"carrier": "Yamato", "tracking": "u-19"}
69	19	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.049028+00	{}
70	19	confirm_inspection	delivered	settled	U-M1	2026-12-03 08:03:24.049028+00	{"fee": 40, "merchant_in": 1600, "capture_transfer": 60}
71	20	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.065965+00	{"amount": 1700, "txn_no": "EP00000000208"}
72	20	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.065965+00	{"valid_seconds": 900}
73	20	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.065965+00	{}
74	20	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.065965+00	{"held": 1700, "hold": 26, "auth_no": "7892841919"}
75	20	cancel_deal	funds_reserved	cancelled	U-S1	2026-12-03 08:03:24.065965+00	{"reason": "sold out", "released": 1700}
76	21	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.080202+00	{"amount": 1800, "txn_no": "EP00000000216"}
77	21	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.080202+00	{"valid_seconds": 900}
78	21	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.080202+00	{}
79	21	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.080202+00	{"held": 1800, "hold": 27, "auth_no": "0949447316"}
80	21	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.080202+00	{"carrier": "Yamato", "tracking": "u-21"}
81	21	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.080202+00	{}
82	21	reject_delivery	delivered	returned	U-M1	2026-12-03 08:03:24.080202+00	{"reason": "wrong colour"}
83	22	open_deal	\N	order_received	U-K1	2026-12-03 08:03:24.094034+00	{"amount": 1900, "txn_no": "EP00000000224"}
84	22	issue_identity_code	order_received	order_received	U-K1	2026-12-03 08:03:24.094034+00	{"valid_seconds": 900}
85	22	confirm_identity	order_received	identity_confirmed	U-K1	2026-12-03 08:03:24.094034+00	{}
86	22	reserve	identity_confirmed	funds_reserved	U-K1	2026-12-03 08:03:24.094034+00	{"held": 1900, "hold": 28, "auth_no": "6401516992"}
87	22	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.094034+00	{"carrier": "Yamato", "tracking": "u-22"}
88	22	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.094034+00	{}
89	22	confirm_inspection	delivered	settled	U-K1	2026-12-03 08:03:24.094034+00	{"fee": 47, "merchant_in": 1900, "capture_transfer": 62}
90	22	request_return	settled	returned	U-K1	2026-12-03 08:03:24.094034+00	{"reason": "too small"}
91	23	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.115745+00	{"amount": 2000, "txn_no": "EP00000000232"}
92	23	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.115745+00	{"valid_seconds": 900}
93	23	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.115745+00	{}
94	23	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.115745+00	{"held": 2000, "hold": 29, "auth_no": "9465170684"}
95	23	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.115745+00	{"carrier": "Yamato", "tracking": "u-23"}
96	23	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.115745+00	{}
97	23	confirm_inspection	delivered	settled	U-M1	2026-12-03 08:03:24.115745+00	{"fee": 50, "merchant_in": 2000, "capture_transfer": 64}
98	23	request_return	settled	returned	U-M1	2026-12-03 08:03:24.133993+00	{"reason": "broken"}
99	23	confirm_return	returned	refunded	U-S1	2026-12-03 08:03:24.137965+00	{"fee": -50, "refund": 2000, "merchant_in": 0}
100	24	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.14203+00	{"amount": 2100, "txn_no": "EP00000000240"}
101	24	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.14203+00	{"valid_seconds": 900}
102	24	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.14203+00	{}
103	24	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.14203+00	{"held": 2100, "hold": 30, "auth_no": "3186270950"}
104	24	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.14203+00	{"carrier": "Yamato", "tracking": "u-24"}
105	24	open_dispute	shipped	disputed	U-M1	2026-12-03 08:03:24.14203+00	{"reason": "never came"}
106	25	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.153976+00	{"amount": 2200, "txn_no": "EP00000000257"}
107	25	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.153976+00	{"valid_seconds": 900}
108	25	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.153976+00	{}
109	25	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.153976+00	{"held": 2200, "hold": 31, "auth_no": "1091207759"}
110	25	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.153976+00	{"carrier": "Yamato", "tracking": "u-25"}
111	25	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.153976+00	{}
112	25	open_dispute	delivered	disputed	U-S1	2026-12-03 08:03:24.16599+00	{"reason": "half of it"}
113	25	resolve_dispute	disputed	resolved	postgres	2026-12-03 08:03:24.170056+00	{"fee": 30, "refund": 0, "buyer_share": 1000, "merchant_in": 1200, "merchant_share": 1200}
114	26	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.175166+00	{"amount": 4000, "txn_no": "EP00000000265"}
115	26	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.175166+00	{"valid_seconds": 900}
116	26	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.175166+00	{}
117	26	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.175166+00	{"held": 4000, "hold": 32, "auth_no": "5185088635"}
118	26	set_payment_sources	funds_reserved	funds_reserved	U-M1	2026-12-03 08:03:24.185977+00	{"held": 4000, "sources": 2}
119	27	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.190909+00	{"amount": 4100, "txn_no": "EP00000000273"}
120	27	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.190909+00	{"valid_seconds": 900}
121	27	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.190909+00	{}
122	27	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.190909+00	{"held": 4100, "hold": 35, "auth_no": "6535805909"}
123	27	set_payment_sources	funds_reserved	funds_reserved	U-M1	2026-12-03 08:03:24.203642+00	{"held": 4100, "sources": 2}
124	27	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.20849+00	{"carrier": "Sagawa", "tracking": "u-split"}
125	27	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.215474+00	{}
126	27	confirm_inspection	delivered	settled	U-M1	2026-12-03 08:03:24.219387+00	{"fee": 102, "merchant_in": 4100}
127	28	open_deal	\N	order_received	U-K1	2026-12-03 08:03:24.230043+00	{"amount": 5000, "txn_no": "EP00000000281"}
128	28	issue_identity_code	order_received	order_received	U-K1	2026-12-03 08:03:24.230043+00	{"valid_seconds": 900}
129	28	confirm_identity	order_received	identity_confirmed	U-K1	2026-12-03 08:03:24.230043+00	{}
130	28	reserve	identity_confirmed	funds_reserved	U-K1	2026-12-03 08:03:24.230043+00	{"held": 5000, "hold": 38, "auth_no": "5431847834", "discount": 150, "institution": "U-BANK", "merchant_in": 4850}
131	28	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.230043+00	{"carrier": "Yamato", "tracking": "u-28"}
132	28	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.230043+00	{}
133	28	confirm_inspection	delivered	settled	U-K1	2026-12-03 08:03:24.230043+00	{"loan": 1, "capture_transfer": 74}
134	28	repay	settled	settled	U-K1	2026-12-03 08:03:24.26321+00	{"paid": 1500, "receivable": 1, "outstanding": 3500}
135	29	open_deal	\N	order_received	U-K1	2026-12-03 08:03:24.283297+00	{"amount": 5100, "txn_no": "EP00000000299"}
136	29	issue_identity_code	order_received	order_received	U-K1	2026-12-03 08:03:24.283297+00	{"valid_seconds": 900}
137	29	confirm_identity	order_received	identity_confirmed	U-K1	2026-12-03 08:03:24.283297+00	{}
138	29	reserve	identity_confirmed	funds_reserved	U-K1	2026-12-03 08:03:24.283297+00	{"held": 5100, "hold": 39, "auth_no": "9823679355", "discount": 153, "institution": "U-BANK", "merchant_in": 4947}
139	30	open_deal	\N	order_received	U-K1	2026-12-03 08:03:24.293205+00	{"amount": 5200, "txn_no": "EP00000000307"}
140	30	issue_identity_code	order_received	order_received	U-K1	2026-12-03 08:03:24.293205+00	{"valid_seconds": 900}
141	30	confirm_identity	order_received	identity_confirmed	U-K1	2026-12-03 08:03:24.293205+00	{}
142	30	reserve	identity_confirmed	funds_reserved	U-K1	2026-12-03 08:03:24.293205+00	{"held": 5200, "hold": 40, "auth_no": "2410239800", "discount": 156, "institution": "U-BANK", "merchant_in": 5044}
143	30	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.293205+00	{"carrier": "Yamato", "tracking": "u-30"}
144	30	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.293205+00	{}
145	30	confirm_inspection	delivered	settled	U-K1	2026-12-03 08:03:24.293205+00	{"loan": 2, "capture_transfer": 78}
146	30	request_return	settled	returned	U-K1	2026-12-03 08:03:24.308456+00	{"reason": "not as described"}
147	30	confirm_return	returned	refunded	U-S1	2026-12-03 08:03:24.310039+00	{"refund": 5044, "receivable_cancelled": 2}
148	31	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.313943+00	{"amount": 6000, "txn_no": "EP00000000315"}
149	31	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.313943+00	{"valid_seconds": 900}
150	31	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.313943+00	{}
151	31	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.313943+00	{"auth_no": "5704313078", "institution": "U-AGY"}
152	31	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.313943+00	{"carrier": "Yamato", "tracking": "u-31"}
153	31	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.313943+00	{}
154	31	confirm_inspection	delivered	settled	U-M1	2026-12-03 08:03:24.313943+00	{"fee": 150, "invoice": 3, "merchant_in": 6000}
155	31	pay_invoice	settled	settled	U-M1	2026-12-03 08:03:24.328132+00	{"paid": 2000, "receivable": 3, "outstanding": 4000}
156	32	open_deal	\N	order_received	U-M2	2026-12-03 08:03:24.332826+00	{"amount": 6100, "txn_no": "EP00000000323"}
157	32	issue_identity_code	order_received	order_received	U-M2	2026-12-03 08:03:24.332826+00	{"valid_seconds": 900}
158	32	confirm_identity	order_received	identity_confirmed	U-M2	2026-12-03 08:03:24.332826+00	{}
159	32	reserve	identity_confirmed	funds_reserved	U-M2	2026-12-03 08:03:24.332826+00	{"auth_no": "6826823153", "institution": "U-AGY"}
160	32	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.332826+00	{"carrier": "Yamato", "tracking": "u-32"}
161	32	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.332826+00	{}
162	32	confirm_inspection	delivered	settled	U-M2	2026-12-03 08:03:24.332826+00	{"fee": 152, "invoice": 4, "merchant_in": 6100}
163	32	pay_invoice	settled	settled	U-M2	2026-12-03 08:03:24.350735+00	{"paid": 6100, "receivable": 4, "outstanding": 0}
164	33	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.353137+00	{"amount": 6200, "txn_no": "EP00000000331"}
165	33	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.353137+00	{"valid_seconds": 900}
166	33	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.353137+00	{}
167	33	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.353137+00	{"auth_no": "3014622126", "institution": "U-AGY"}
168	33	mark_shipped	funds_reserved	shipped	U-S1	2026-12-03 08:03:24.353137+00	{"carrier": "Yamato", "tracking": "u-33"}
169	33	mark_delivered	shipped	delivered	U-S1	2026-12-03 08:03:24.353137+00	{}
170	34	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.362086+00	{"amount": 700, "txn_no": "EP00000000349"}
171	34	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.362086+00	{"valid_seconds": 900}
172	34	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.362086+00	{}
173	34	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.362086+00	{"held": 700, "hold": 41, "auth_no": "7176600112"}
174	34	mark_shipped	funds_reserved	shipped	U-FAST	2026-12-03 08:03:24.362086+00	{"carrier": "Yamato", "tracking": "u-34"}
175	34	mark_delivered	shipped	delivered	U-FAST	2026-12-03 08:03:24.362086+00	{}
176	34	confirm_inspection	delivered	settled	U-M1	2026-12-03 08:03:24.362086+00	{"fee": 0, "merchant_in": 700, "capture_transfer": 87}
177	35	open_deal	\N	order_received	U-M2	2026-12-03 08:03:24.371747+00	{"amount": 710, "txn_no": "EP00000000356"}
178	35	issue_identity_code	order_received	order_received	U-M2	2026-12-03 08:03:24.371747+00	{"valid_seconds": 900}
179	35	confirm_identity	order_received	identity_confirmed	U-M2	2026-12-03 08:03:24.371747+00	{}
180	35	reserve	identity_confirmed	funds_reserved	U-M2	2026-12-03 08:03:24.371747+00	{"auth_no": "8077002750", "institution": "U-AGY"}
181	35	mark_shipped	funds_reserved	shipped	U-FAST	2026-12-03 08:03:24.371747+00	{"carrier": "Yamato", "tracking": "u-35"}
182	35	mark_delivered	shipped	delivered	U-FAST	2026-12-03 08:03:24.371747+00	{}
183	35	confirm_inspection	delivered	settled	U-M2	2026-12-03 08:03:24.371747+00	{"fee": 0, "invoice": 5, "merchant_in": 710}
184	36	open_deal	\N	order_received	U-K1	2026-12-03 08:03:24.389123+00	{"amount": 720, "txn_no": "EP00000000364"}
185	36	issue_identity_code	order_received	order_received	U-K1	2026-12-03 08:03:24.389123+00	{"valid_seconds": 900}
186	36	confirm_identity	order_received	identity_confirmed	U-K1	2026-12-03 08:03:24.389123+00	{}
187	36	reserve	identity_confirmed	funds_reserved	U-K1	2026-12-03 08:03:24.389123+00	{"held": 720, "hold": 42, "auth_no": "1763345296", "discount": 21, "institution": "U-BANK", "merchant_in": 699}
188	36	mark_shipped	funds_reserved	shipped	U-FAST	2026-12-03 08:03:24.389123+00	{"carrier": "Yamato", "tracking": "u-36"}
189	36	mark_delivered	shipped	delivered	U-FAST	2026-12-03 08:03:24.389123+00	{}
190	36	confirm_inspection	delivered	settled	U-K1	2026-12-03 08:03:24.389123+00	{"loan": 6, "capture_transfer": 90}
191	37	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.404792+00	{"amount": 730, "txn_no": "EP00000000372"}
192	37	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.404792+00	{"valid_seconds": 900}
193	37	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.404792+00	{}
194	37	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.404792+00	{"held": 730, "hold": 43, "auth_no": "2272698741"}
195	37	mark_shipped	funds_reserved	shipped	U-FAST	2026-12-03 08:03:24.404792+00	{"carrier": "Yamato", "tracking": "u-37"}
196	37	mark_delivered	shipped	delivered	U-FAST	2026-12-03 08:03:24.404792+00	{}
197	38	open_deal	\N	order_received	U-M1	2026-12-03 08:03:24.413851+00	{"amount": 740, "txn_no": "EP00000000380"}
198	38	issue_identity_code	order_received	order_received	U-M1	2026-12-03 08:03:24.413851+00	{"valid_seconds": 900}
199	38	confirm_identity	order_received	identity_confirmed	U-M1	2026-12-03 08:03:24.413851+00	{}
200	38	reserve	identity_confirmed	funds_reserved	U-M1	2026-12-03 08:03:24.413851+00	{"held": 740, "hold": 44, "auth_no": "7277509175"}
201	34	complete	settled	completed	system	2026-12-03 08:03:25.628396+00	{}
202	35	complete	settled	completed	system	2026-12-03 08:03:25.628396+00	{}
203	36	complete	settled	completed	system	2026-12-03 08:03:25.628396+00	{}
204	37	auto_accept	delivered	settled	system	2026-12-03 08:03:25.628396+00	{"fee": 0, "merchant_in": 730, "capture_transfer": 91}
205	38	expire	funds_reserved	expired	system	2026-12-03 08:03:25.628396+00	{"reason": "not shipped by the deadline", "released": 740}
206	37	complete	settled	completed	system	2026-12-03 08:03:26.849952+00	{}
207	39	open_deal	\N	order_received	U-M2	2026-12-03 08:03:26.850597+00	{"amount": 1300, "txn_no": "EP00000000398"}
208	39	issue_identity_code	order_received	order_received	U-M2	2026-12-03 08:03:26.850597+00	{"valid_seconds": 900}
209	39	confirm_identity	order_received	identity_confirmed	U-M2	2026-12-03 08:03:26.850597+00	{}
210	39	pay_cash	identity_confirmed	funds_reserved	terminal:U-T1	2026-12-03 08:03:26.85568+00	{"held": 1300, "hold": 45, "change": 200, "tendered": 1500, "terminal": "U-T1"}
211	40	open_deal	\N	order_received	U-M2	2026-12-03 08:03:26.857946+00	{"amount": 800, "txn_no": "EP00000000406"}
212	40	issue_identity_code	order_received	order_received	U-M2	2026-12-03 08:03:26.857946+00	{"valid_seconds": 900}
213	40	confirm_identity	order_received	identity_confirmed	U-M2	2026-12-03 08:03:26.857946+00	{}
214	40	serve_first	identity_confirmed	delivered	U-S1	2026-12-03 08:03:26.870947+00	{}
215	40	pay_cash	delivered	settled	terminal:U-T1	2026-12-03 08:03:26.873553+00	{"fee": 20, "merchant_in": 800, "capture_transfer": 94}
216	41	open_deal	\N	order_received	U-M2	2026-12-03 08:03:26.881033+00	{"amount": 900, "txn_no": "EP00000000414"}
217	41	issue_identity_code	order_received	order_received	U-M2	2026-12-03 08:03:26.881033+00	{"valid_seconds": 900}
218	41	confirm_identity	order_received	identity_confirmed	U-M2	2026-12-03 08:03:26.881033+00	{}
219	41	serve_first	identity_confirmed	delivered	U-S1	2026-12-03 08:03:26.88277+00	{}
\.


--
-- Data for Name: deal_sources; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.deal_sources (deal, account, "position", amount, hold_id, capture_transfer, captured, refunded) FROM stdin;
26	40	1	3000	33	\N	0	0
26	42	2	1000	34	\N	0	0
27	42	1	2100	37	71	2100	0
27	40	2	2000	36	70	2000	0
\.


--
-- Data for Name: deal_transfers; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.deal_transfers (transfer_id, deal) FROM stdin;
20	1
36	5
52	9
61	19
63	22
65	23
69	25
72	27
73	28
76	29
77	30
81	31
82	31
84	32
85	32
88	35
89	36
95	40
\.


--
-- Data for Name: entries; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.entries (account, seq, transfer_id, amount, balance, hash) FROM stdin;
1	1	1	-100000	-100000	\\x878f4a47ad0d3839ba015d1814ac1b20f3d565ffe6b5235493bddaccca711754
2	1	1	100000	100000	\\x50c8b466da8ecdb9fcd81c711e4de78154112e70c215a169559cb310dba4bc38
1	2	2	-100000	-200000	\\x47764605e601ffcf7b13fb139822f7201b98d836d367556636c75a2cf2588ac1
3	1	2	100000	100000	\\xe308d80366ebdc7bd092ada2032a9260786e71facb2e0f11f2afe5976d58b5f5
1	3	3	-100000	-300000	\\xde6636964efaa525473ec8cc2ea5d5b3dbe9312695311546b88907b06f1879dc
5	1	3	100000	100000	\\x3a75be9a2ceebd4d21e4f86b6fea3e0d32f25d5b393d9f0456739f9f4e707d7b
1	4	4	-1	-300001	\\x7080468fcec84855a53204d47424e6c13b0ddd79032fa174e5cb3111db5a356d
5	2	4	1	100001	\\x5107090a03637f30ff459a105395f836b407f5188fe39758381ec7455ad56a6c
1	5	5	-1000000	-1300001	\\x546a934cfec96765613293a1d992c1ec528cdf7b084fa52855f85f2d66746a22
13	1	5	1000000	1000000	\\x106d0044e42192764ae2f92371e84c8472001b9ff203f3af47ab574d45c58d88
1	6	6	-200000	-1500001	\\xba6ced4f4d72450ea8edc9c6205d0f7da6c47e03530f434d35d1e32b4dfc0639
14	1	6	200000	200000	\\x1fe6eebe2dad0114f316e123630a76613d88068458c98a38bbd09ad619122b46
1	7	7	-50000	-1550001	\\x7feef836c1aab06b82ed437b4302c1e20b61a1e2f2fc5720354721aec4265d66
19	1	7	50000	50000	\\x9f89c53586ba43800d40514be4d3b945014204a0327f6c613b733d310e469dde
11	1	8	-5000000	-5000000	\\x260db263330228a8e200b359d74c6b658d1bb8626012fdfa189aed1ad972e497
18	1	8	5000000	5000000	\\xb3408c05abe1a2d7f930532fd4290c6927922aaabf9b36a948a6ad9b16d17006
1	8	9	-5001	-1555002	\\xe156c525511ce246220d9bad32719b0ab62b863dd465e38fe5cda7322c2a4ef5
13	2	9	5001	1005001	\\x5541c2e810c4c423ca914d917e6d52f194e65ba2ae058de68cc02788caa7fa08
14	2	10	-100	199900	\\x098daf189ef45c2da58a154404ac978a279175da57bd47ef4b3eb351df11d2be
1	9	10	100	-1554902	\\xdbf62cb52d29653da40ef1491e508aa02548da5e03b36a875c2a5204fb6e6d35
13	3	11	-701	1004300	\\xf0582257733a2929c7751b0188f186f00cd83498734269e2a7436d949654848f
14	3	11	701	200601	\\x64c8339bcb3e0ce3032e1332742c54a3d6b07b7ea8eca420a37ed13cd8c099c5
14	4	12	-200	200401	\\x7ce088eb7ace2709ec07deb8e102a663d9eb03d8ea80cc73100acb9e2cabfff8
13	4	12	200	1004500	\\x72e2e03f5ef37f452bf15f783e08390d5ce666adaff6d3dc75d6b91efb6cd31f
13	5	13	-1000	1003500	\\x183043bc229960418a914ba152e4f96508f3357ccd12c7346b7f3b5253d2c906
19	2	13	1000	51000	\\xcb3e80af497c9ecfed9e5f5c9e5b7f90af6912ec8a0e934a90847bcffd8e2c7b
16	1	14	-1000	-1000	\\x5ea7f5570df8223b07375534925a0daa308f29993e4afd1ebe7bb6f6446d9ad3
13	6	14	1000	1004500	\\xf333dd44bbdc0374eca2a3afaf49b796b0e5281b7743ebf6308741acfe262d39
15	1	15	-4000	-4000	\\x299b8efde0264256f6b3f189fe2c992e974c21bea8e46ced5f4be110c2f31e8a
2	2	15	4000	104000	\\x878c4868b5b4438cbb63b388c8dd9ebe53e124d55c822eaccbeda8ef78b231bd
13	7	16	-100	1004400	\\xb147bd5e9cee11ae1b4d02182b129d03bf5bfaf5868e3e78d0c7f2510d6c8016
19	3	16	100	51100	\\x37d081e9fa1f94576010d556c7ca0b17a7cb719b36789a7ee8d9db3b64793049
14	5	17	-400	200001	\\xdf9d770e4e862178666b9804f27752757a18e2e8b4d6d9760fc7b5f7fd08cf7c
19	4	17	400	51500	\\x4c29b6f970bb1d9830c0929c4e6b1634ed221fe6c8f93381a1333e64751cfa15
13	8	18	-999	1003401	\\x36933f9d2af1b05a65393c3b911c189b2ca4c5b8d3612c69851abbd126307e5e
5	3	18	999	101000	\\x3dc5f7a0a65fe9d590113405608677848102a9cb940cada936678cae3305b995
13	9	19	-1501	1001900	\\x7ce8fed22ea4586fe4a450f9294e15917445304942f01b4ad87d7cfd244d1b5f
19	5	19	1501	53001	\\x7db944f86406bf4ebc850d726fe5a242bc5d89167550f5cac18c726ef77c1d68
16	2	20	-22	-1022	\\xba5a64b0aee3637ad98908b5a2b1478a166fd8bcc1abde6c76414602da5997cb
17	1	20	22	22	\\x84b9855b2cbedf3a01267f15cb7b072fe52434c51c834bd4e1223bdb5ec670fd
1	10	21	-1000000	-2554902	\\x69b99a0ac349eabb69b9d1238b00131458bc1a2a7c5c249161442b7c6591c91a
21	1	21	1000000	1000000	\\x3adfe2e9038b4e96685518ec13782086e224ccdad81931fe83826ac216846782
1	11	22	-200000	-2754902	\\xc5900cfbec38f2c60ad71796e6a01c25b606e980b2a82f2cb30cf304a5f836d5
22	1	22	200000	200000	\\xd209c9571d0c759dc27eaa31c24036cbd09c1af8aa4830abe87ac30070e0b657
1	12	23	-50000	-2804902	\\x2416545b7d1ff29d59519d0f36fa0c2f7dce94ccccf96b54dc6a1ac5692dd43e
27	1	23	50000	50000	\\xf5fb7d8a3324f3d9347b53449afa05ff5fe2eeb80080ca76fd65b1272d5e0948
11	2	24	-5000000	-10000000	\\xb77ad0cc4fb2b561d02194bf9afc41f67a12bedba492dfe2f2698eef2b6cd866
26	1	24	5000000	5000000	\\x063610fc74d7366356fcee934c42015352bcdaba3cf5137b2dffa131b5000b4a
1	13	25	-5002	-2809904	\\x3bf8a86cf793115114b6621b5aa20e2de8f904f187aeb785c2441933ebaf4b03
21	2	25	5002	1005002	\\x83efaf598c0b8d7d9fd4591e671df65f676483c8f6943409b5224985fe56276a
22	2	26	-200	199800	\\x87ee12be8f91516741589e36250b3a55f532b892c9ba02be2eaa39aea037c837
1	14	26	200	-2809704	\\x4078ecd7caf5d7c7a062059ac1bb368c46284912f92f9f1deab6c542f538eb2c
21	3	27	-702	1004300	\\x69b538879d254cab2d33d391a8d25c11646ad5f2b26cd730f81e29ae5aa3ea03
22	3	27	702	200502	\\xe39aabbd7b72dbf999cea578cd967dd19a9cc195651d5aa43899ecfaca4c3bcf
22	4	28	-200	200302	\\xfaa1327f66d4e54235f74321fdbbd6d67e37a2978f593ab373468015d6219af9
21	4	28	200	1004500	\\xd534fbebb02ef5b84555e1a8ae0a42c7e4fa206b53dff8e91b2a70d808d70714
21	5	29	-1000	1003500	\\xd9dc8c3893d809bfbc8e91b138e7cb6d44aa0bdbbfcd773731dd0b54a2ef78e1
27	2	29	1000	51000	\\xd2115d4718adea9d7cd99c51c6a404bbdc56ba151be0fdfab88ba09800489c00
24	1	30	-1000	-1000	\\x9af45ddbc324193f46a38146cc26689060b6da72c341609da072c7f1c1a7c8b9
21	6	30	1000	1004500	\\x8e08c568b7a2830d54b1c1565448bb665414203f89621b14843d9eda7ffa7eb8
23	1	31	-4000	-4000	\\x0768e6fa13cb125bcb75b28798b24eb6df4f9b040433dd30d33b99e7fa2fd682
2	3	31	4000	108000	\\x1336ab878dff63429b3520ec5e928e1e6a74f747fa9f940dff9427f38b96ae8a
21	7	32	-100	1004400	\\x1d1d056b0b4aad4ec72f0e18e91579bd0ac1f2301f9e5086f0a2a7ebbb684b9b
27	3	32	100	51100	\\x25a52f3bcbcde78611c5be3444c81841394829fb79a672d5b4b542121f4e7942
22	5	33	-400	199902	\\x75d8a3a1a58c661ad5fdfe68724d5057cb40b862880ad1e73d13e31ad1e610db
27	4	33	400	51500	\\xf34341e911b9f50bcf9729267bb4a88fd871ea625bf10b2b4d953d5887923d63
21	8	34	-999	1003401	\\xe478f8318f078adfb46187618b2a7d4c99c7d8fef594e27c06287d62edbca949
5	4	34	999	101999	\\x7d8d73afb34172b3f7fff8dc4986c9d9b73b1517dc809e6caf29439ea494796e
21	9	35	-1502	1001899	\\x833594f0e0eddd9b8437955feebcfd649d8e3ea1f9c1c6e0751db1bb55510528
27	5	35	1502	53002	\\x52768d892490f7f214770c21fc9f613f302e333e90f301db355d8c6591e1c388
24	2	36	-30	-1030	\\x1aee1d45f383b7d7c481780deb79111710b4c181ca608b338e7f6324834a4a94
25	1	36	30	30	\\x6786ab86dcc61f0d311db4a0532cedbee335629f153e0e1dbc929b8ab7d17edf
1	15	37	-1000000	-3809704	\\x2455293f1733770ec1f0fa2b1e98f3e8045bec2e4e3e9f60910d86f639bc716e
29	1	37	1000000	1000000	\\x76ce85361665df42ff1d5dc72ea5c5969c9e662b565ad1a9be8125b99831f5d2
1	16	38	-200000	-4009704	\\x4943b96887cdadb3d2436870c44d707074365fb63ae282b2e01789a36ae2d095
30	1	38	200000	200000	\\x5fc0d633c9b6719bbd3bc2202aa501b8417cbd37b7ab0cd86f5746361dc1d21a
1	17	39	-50000	-4059704	\\x6d1021f84ad34cf321d4d121d9e86d038dcace48c4474ff3a1ac8caab7e09a5f
35	1	39	50000	50000	\\x8c604a21c5e61ab542352eaea4f6ee04c0372f9a6c529683e1bcfd2613b7f3e2
11	3	40	-5000000	-15000000	\\x1330704fe9c52afcdcf70d57907a3950a560f4987e784dba54b329d095ff85f5
34	1	40	5000000	5000000	\\x0077d941f6294088ac849d36c4d88d7f0ef4a2fbf90680f8d7f8faccdef0570f
1	18	41	-5003	-4064707	\\x3d2486432f1cf4d6d7a0a4eaadb9ebbe1079392697132b8c38211c46a53748fb
29	2	41	5003	1005003	\\xda875bc79cb3a64c859584e41e6fd350854ba96a38c057ee7a0a11d9db7e0bd5
30	2	42	-300	199700	\\x86bf2ccb5fe4bd8c87ebc7c02e0cdef3b9d1147db4ef0b5f0ea057738dc6fbb1
1	19	42	300	-4064407	\\x432a8674c471fe989a9f46b0d97e9e15d67a471df28b999aba8cff92287cf495
29	3	43	-703	1004300	\\x82e0d7104a1571e0d769911f1f94c89241d501f20feedbec3ec2c793ea386638
30	3	43	703	200403	\\xb73c32f1f7084db91ce096bcbab75d660d923331a799d13ac093889416fa7e38
30	4	44	-200	200203	\\x0029076351e76c5de61ba946a1bba4c999196a1a9053c6b29b5d722b150610e2
29	4	44	200	1004500	\\x1dfebb5ee74b53003ec3f7cf91ab0fe21d5da8ffdaa4f040b46f872f78f82e37
29	5	45	-1000	1003500	\\xc9d92c62f6d130cee077fb749f98c4a036750cc58ab8b1a320d5dd0940d128c9
35	2	45	1000	51000	\\xd2c779ef6b87c56f989953908c8a447b93d46965396492d3544676de75503a0d
32	1	46	-1000	-1000	\\x2103f8785243e2b8afa88914074e35d5d100626f6d4ffd89b209e13c6420db99
29	6	46	1000	1004500	\\x7583887a65df00f62032263e67b035917cc39517fe1041694fda4d6e4f74ab6b
31	1	47	-4000	-4000	\\xf00a0994c47981fcc5b4a64cab806a45955bebbf7b89c3b72c89ebab3929db5e
2	4	47	4000	112000	\\xf677a8883b4d93f73c388fb7f9ba137035694165cef3f6eba9690f57e62d654c
29	7	48	-100	1004400	\\xa2d84a8ac2e94769fee13062f0530e4ff05b42d52953e57e4ffe36b20296e006
35	3	48	100	51100	\\xb007fab8853efd2dfd751574a400a2ece38a829be39a62256232b5d084d5c68d
30	5	49	-400	199803	\\x70df0b8e7daecd4fc49ba168d7f7ed55be7501b4ac00d4921be382616405bbb8
35	4	49	400	51500	\\x3200ebf8b942a8b91277fce2e8b10846f68609f38d6e7f527f59abc64c74f674
29	8	50	-999	1003401	\\x4e1810698e11efc9645f4701198c322c409ef53ece273139207bb445b1161711
5	5	50	999	102998	\\xcbaff20ded44757cb4f0b4c6c7bc4cb90c5c6165ac7ecfcca824002543e82208
29	9	51	-1503	1001898	\\xe98cf289fd99f69b1ee21ef7c6630b5ffd3a56135c2c82b3a9610b3f9d4a7b21
35	5	51	1503	53003	\\xbaabfe70df634ce08311a8655b86795639a2ee917fc170f06e4654acb6a59ac9
32	2	52	-37	-1037	\\xedb498b28e31248b08fcd3334f4592ee64906f071d63704f5f6109a9ba798ca7
33	1	52	37	37	\\x691c6f65fe6c0b5f296ef27b5a6211ef282a55793fc22ce9160f0aa5ad3e0aa8
37	1	53	-12345	-12345	\\xad21e487273989ed41d8e467d4c93df3ffbb87e935752c96d1a1378f0c16d2b1
38	1	53	12345	12345	\\x9323f32f08b9701800f909baa9f94a229d697536fc869f9d51cbfd931ae36078
39	1	54	-200000	-200000	\\xf1660a00a9602854b3f575acc0b3292010fdf3527fb35ad15a9e3d9d2d25444c
40	1	54	200000	200000	\\x57de6c271d08331456c822c12f887fb71e0ef80b82e1e41811991cd7b8502ec1
39	2	55	-50000	-250000	\\x46f6bf05a45b86408a18966a543af8a4c215cc18f706737e596cff8d7a222ab0
41	1	55	50000	50000	\\xac820a5da7e0eb11ef1f6475fee71519cb3c55c569cdd7b2224312af847462f8
39	3	56	-500000	-750000	\\x4df02c63f6e21131422c4167276ca524f849d21595068e07a7b4e9a52672d0b1
46	1	56	500000	500000	\\x28b950b7c39aa302814baf39100ca7d4dcc5053c14329fdd8376970fd28bd2b3
39	4	57	-500000	-1250000	\\xd121ea3d56092638545db6f731f4570d0b64f75708c68053879dc257082772c1
47	1	57	500000	500000	\\x9324bcc32d3fe5d6429a0b749574ea31b3b7cec73203a7d5f5ebc036c4aae753
39	5	58	-25000	-1275000	\\x5939f2c4768924257c3b734d90f30174c442f1aac0c7c6dfdace2bf8efb0c0b6
48	1	58	25000	25000	\\xc4e79e0c94b60042e26717f5f132cdaae084510a80b25e90702ac6d8bbded33e
48	2	59	-500	24500	\\x4788481bd8c83a6411e53ba3e8f7da8dbb1a63516c4fd04b847338ff397217f3
39	6	59	500	-1274500	\\xa978deeaad6689f8bc6eb38942c6ce6431dae025d5cb69f15e6563aee7163c58
40	2	60	-1600	198400	\\xcb1b2005fb6f3b5f56c44b9585a5c23d6d0f99b35a5fe448447410b96a6ee897
50	1	60	1600	1600	\\x5156d64083f281add41034442603906166faccfdfe9647c04b67ee37d001fc18
43	1	61	-40	-40	\\x0b2d60f36c1e781e6a244e2126f6e66a309cf43c14ff8da32cba2237be1931da
44	1	61	40	40	\\x536e457248d29730fb420d5b1a2471d4ab8d37c4ea1cf7246ac0c198505f9dc3
42	1	62	-1900	-1900	\\x997d911e6460b5f69e92e4f9a8140f47435fbad0b5b7c63156dd610a4326d170
50	2	62	1900	3500	\\x9b34ae678b9e1944be9193e4522edfd953d655cad3aa657a0750eea344259670
43	2	63	-47	-87	\\x11a9227c451899eab272ccd27867e1cf7fbf3241abf0c16fe614b6a1c09940f3
44	2	63	47	87	\\xe73b63e978507a00cad2d01795588146a93c1182bee40da893030d13060909bd
40	3	64	-2000	196400	\\xf649c37bf4cfc51aa362222714647cc4f6b98e182267cd1984115c29f7f68149
50	3	64	2000	5500	\\xf977b4b8b57743ba86c40dbca0fa09cd740c27fe63610c41845823a3b74f2691
43	3	65	-50	-137	\\x6a826cae7bcd8e6e8ab3b9f048ed4eb82199acd6108dae70c27a7144e9fc614e
44	3	65	50	137	\\xacf9ea5315bf12f1afb62fd1e65d748687de10979ca59802873f16a6c0c8786c
44	4	66	-50	87	\\x70d4a1033fe24222dc4e80964ba75170d6905200e79f273db55a3c923862967c
50	4	66	50	5550	\\x41e4a0e44eebb2006218e43643a4df15ea9455faae9544cd69df94043a50d462
43	4	67	-2000	-2137	\\x9d97ff36d825e40df4407b11b10a0a76970d7ceeb73ccca93b5286d8548632a9
40	4	67	2000	198400	\\x86f2e2ae0834dd6e1a2241fdfe249f62506075d9698059621df0d50dbb374687
40	5	68	-1200	197200	\\xf55a17130f3fe1f44658b26ee4ffab550e1fb5925bd68b905d56b5a416c32a98
50	5	68	1200	6750	\\xc4d563bea0e94a206c55f4f08a2457e2e4b8e7dc433f370da6a1154ae57589ca
43	5	69	-30	-2167	\\x4b9fc5dd84d82f4a6263a9489b546d0362c67e471a2b21d0c3b339e29c8ecc15
44	5	69	30	117	\\xeb4fe1ff710fc2f4dbdaac3cb4f4d63b44390b774d5e6e8785d144349036bec4
40	6	70	-2000	195200	\\x94a0de9725516ca6e7052813b2b6b8f5ecda65fd7005bf4d1db32a779e882f2e
50	6	70	2000	8750	\\x80c6e4f9ee6f631d8f6c803c611456e8ed9a30ad08da368d5210327991f41a4b
42	2	71	-2100	-4000	\\x32df0ea1b0b8f03bb377d6f8e211cce10ab600e6d730be63f770f72b1bd83656
50	7	71	2100	10850	\\xb39fc8aeb2776f95c09656e9f18ca57234efc77782030b7381d8f9ae3e10e606
43	6	72	-102	-2269	\\xf1bcffb3a45f7a0caeffbe16c0d0f3a7689ead18e423fe0ce81bb4c8a2236237
44	6	72	102	219	\\xe1ae7801b45e2799828f5130e912e7a021bf7cdf59dfa811e9f01788b0f5da09
46	2	73	-4850	495150	\\x062b12a8b80d480410701a245483b4c02c1a77febe50531d7390be15caa55301
50	8	73	4850	15700	\\xa278e2bbd4617e4bfea6186698e67a7d6258130feea359993037ee7a78ed6f9a
42	3	74	-5000	-9000	\\x5ecc9b52f8932c42cdb16ff017cb97e7075d97e6555664fb6918786422370a29
46	3	74	5000	500150	\\xb90d23f11cddf7b1237c4deafa0545533ba871e9305209a7ed7f92b2297a8aa1
40	7	75	-1500	193700	\\xdcedc71b31920551c5b6b67a13d22af4f478a7fcd841d322fdbc31d39c90de64
42	4	75	1500	-7500	\\x3f10157138d4698915d8cd0da19eac9ba9146d2d2df84e58bffda9867808b9b1
46	4	76	-4947	495203	\\xae9a54380285403ac8b0aa8439edf9e921be76d8e2817a6f11fcac9e1ac633f0
50	9	76	4947	20647	\\xecc9cf5893b978e8c721118a04e7b8d609229ecf9224687dceafef9af66b6f3e
46	5	77	-5044	490159	\\x5c49583f5cdfb1f07ec8c29a29c789169198e7c61b969c84caf162b1877ed780
50	10	77	5044	25691	\\x2584aef347c3f15f0c646253e10887e7f7329799b084b7f3b9c4d41e18235743
42	5	78	-5200	-12700	\\xe06da3973ad726bf788b95a569d3b0f4090fb520981d286ecb1aa2afca24bd61
46	6	78	5200	495359	\\x36002f80dd87a763786944346fc57900f53c2a5fbc2545765a3354ab5f75ad66
43	7	79	-5044	-7313	\\xc8f3c0cbc2a06238723971341c1129980fa3cd915ade3e666bcafb90b371bce4
46	7	79	5044	500403	\\x4f794072d17f5f8c6c7764d2feb55c9b2da5ada69cd93782ef4dd4b68417d855
46	8	80	-5200	495203	\\x92075cab16a0e32bcfa5b21e69e30df6b21c4d4e4660402160dd35d101a5746b
42	6	80	5200	-7500	\\x61f7c3dca444dc30463e153032e5cd2636d195841edbb9bab2e52869f446d9cc
47	2	81	-6000	494000	\\x40a622e4c017e4b8c98ed02457bd880e2411b5fdf1c9203940cec0ea17ce578d
50	11	81	6000	31691	\\xe81f2fbd2ee7290d73b818be680d730b8952c28a5bca0e3d9e74ec6d6fced5c0
43	8	82	-150	-7463	\\x14ee006fbe6611ec4f8fdc4c0a1ea811f61e73c59896ff843b3c644353529e56
44	7	82	150	369	\\x2bcce14c3c6a59b02ce9f65b08339edbe83b875983f743d9faa4e697953be5c1
40	8	83	-2000	191700	\\x00eb70a824ef93838a8b0a077b9e62096ade1a8f9bd2f8d8cf7640aa2575f1f0
47	3	83	2000	496000	\\x54ab3b9adb558c8229750da1df23ce0ca6ab2762b209ae7149c6156115010213
47	4	84	-6100	489900	\\xcfe28dd43285d65373f19b1d8ea2a626cb08e5ba3e57f81e450e52a2e0dbc1ad
50	12	84	6100	37791	\\xb4895200bbe81a8b3c8fafb7dce363838ab0fb1f468f69aefbac6a97ec6b07af
43	9	85	-152	-7615	\\xe5b7e32f1c17401215aa23cd61b6cb60473484918d3cace5db4c52d0c15248b1
44	8	85	152	521	\\xe961210c6f55dc5369df6ac089e8ea5fcdf9a924001554615b57291884d1caf8
41	2	86	-6100	43900	\\x38adcfad5f39b8e0f616b0b89c911411e590e02be5dd785eb76194be5d226567
47	5	86	6100	496000	\\x79123a3cf1a6a8d1d041489722e78f46134e0bce7414bf1e8eeee907a031ef91
40	9	87	-700	191000	\\x517c03c6c948b2313b2f4f6a68c5a606f7ca2bfbb08275a0624f2c488f25b793
45	1	87	700	700	\\x7c416fbae9fa00dea35483a3aa0c5fb5947dba3b0284c46c2893a32929c49843
47	6	88	-710	495290	\\x266870d7ac4bf117bee5faa33c3371ac9cae5a7239e785b826dc9bbaef58926a
45	2	88	710	1410	\\xbb90de7a971a74653dcde0c50ca697959297ed9140a0288a666db814fc331c8a
46	9	89	-699	494504	\\x2aac9cefb17cd0523966b7dc8a3b46fd4361dd2a754361208c6ff450f00a4ee2
45	3	89	699	2109	\\xc04f78eed8c5fd90107d70d0cfaf10d9d64273617e77ac995c2f62ae7d90b928
42	7	90	-720	-8220	\\x35d378eea78e43e36801e83cc00bd6c96d1322fd70b146d6154bd5c3b19986b2
46	10	90	720	495224	\\x00011d9ec5c3bbcea795b2ff987a1e5e98838033e9746b0043b43643912064ba
40	10	91	-730	190270	\\xfc49eca09b9bd66f9add9eefa1edbf96d872203e0533e1f6408d2da2fdca229b
45	4	91	730	2839	\\x0df9851a3cb7b80156726046501ada43e09f809b4f608759f71cd83481cfe158
39	7	92	-1300	-1275800	\\xd55a76aa3c96a5c5439499ed2c219714ba7495c806dd55266e50796d473c505e
48	3	92	1300	25800	\\x0658325973beae415c7a036744a4dc3766fd1dba8e28186305083707cc47b3cf
39	8	93	-800	-1276600	\\x3b5554009ac8c046ab3ec974b19c41abe373a263ddc9457b40cc0f2e906b59c6
48	4	93	800	26600	\\x607e1da14f4c6b49910d457ca6db24c76278a9ee91dc8f016b90cd81da114d4b
48	5	94	-800	25800	\\xf4519ba04bfacc2e796b77dd11b4d4c2192807719bd6f9d7dc137f1960fba7e6
50	13	94	800	38591	\\x9b4ded7040f90ce204541822abfadc859b48fc49be8b4ce4743a209a1d8963cc
43	10	95	-20	-7635	\\xbb58fb44704780cf1d86448108a351805cb85dad598f5e411fbda26bc5e708d9
44	9	95	20	541	\\x27c97affa7008928f15b5347a07eff96c8545370bc6053abccd3d0d6e86b85c2
41	3	96	-4321	39579	\\x8a6d1172f540c11331cc6ab2c9eb2b4cc964c2d9a97d7350abfd5fea50ea1a7c
40	11	96	4321	194591	\\x5a66cd993f2e325cd6a6c75d60984c9e9002cc2175d8a684ac9bece5fff625ad
41	4	97	-1000	38579	\\x674e813aa2e54d3835d6b55b5bd302be454841f00c77d8573b8b5c3277c617c1
39	9	97	1000	-1275600	\\x143f427784afcba068ed26a1619138dfa480ccef75ca724e7d4f69051b69b48d
53	1	98	-5409	-5409	\\x495b54d982f57725b93c328b6655d86c7cbd258bc962ba5fdc9d79563d760c4d
40	12	98	5409	200000	\\x679cf5cc90069aa57a96afd43b21bb854a264cd7ad960cfd6e35f3680c9ed374
43	11	99	-30956	-38591	\\x724da75334d7eb6382800615f17599f6320329ba8304e8d44eec48a78e4fdadd
53	2	99	30956	25547	\\xdb4957b3d8326f3aebf3b5a5b9a9261425f8b3c8711f0c4acfb5bfc621d354b7
\.


--
-- Data for Name: holds; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.holds (id, debit_account, credit_account, amount, captured, released, status, expires_at, created_at, ended_at, deal) FROM stdin;
1	13	16	3000	1000	0	open	2026-12-10 08:03:23.526614+00	2026-12-03 08:03:23.47+00	\N	\N
2	14	16	501	0	501	released	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	\N
3	15	2	4000	4000	0	captured	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	\N
4	13	16	300	100	0	open	\N	2026-12-03 08:03:23.47+00	\N	\N
5	14	16	400	400	0	captured	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	\N
6	13	16	1501	1501	0	captured	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	1
7	15	16	2500	0	0	open	\N	2026-12-03 08:03:23.47+00	\N	2
8	21	24	3000	1000	0	open	2026-12-10 08:03:23.660207+00	2026-12-03 08:03:23.47+00	\N	\N
9	22	24	502	0	502	released	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	\N
10	23	2	4000	4000	0	captured	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	\N
11	21	24	300	100	0	open	\N	2026-12-03 08:03:23.47+00	\N	\N
12	22	24	400	400	0	captured	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	\N
13	21	24	1502	1502	0	captured	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	5
14	23	24	2500	0	0	open	\N	2026-12-03 08:03:23.47+00	\N	6
15	29	32	3000	1000	0	open	2026-12-10 08:03:23.787872+00	2026-12-03 08:03:23.47+00	\N	\N
16	30	32	503	0	503	released	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	\N
17	31	2	4000	4000	0	captured	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	\N
18	29	32	300	100	0	open	\N	2026-12-03 08:03:23.47+00	\N	\N
19	30	32	400	400	0	captured	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	\N
20	29	32	1503	1503	0	captured	\N	2026-12-03 08:03:23.47+00	2026-12-03 08:03:23.47+00	9
21	31	32	2500	0	0	open	\N	2026-12-03 08:03:23.47+00	\N	10
22	40	43	1300	0	0	open	\N	2026-12-03 08:03:23.996509+00	\N	16
23	42	43	1400	0	0	open	\N	2026-12-03 08:03:24.011666+00	\N	17
24	40	43	1500	0	0	open	\N	2026-12-03 08:03:24.034919+00	\N	18
25	40	43	1600	1600	0	captured	\N	2026-12-03 08:03:24.049028+00	2026-12-03 08:03:24.049028+00	19
26	40	43	1700	0	1700	released	\N	2026-12-03 08:03:24.065965+00	2026-12-03 08:03:24.065965+00	20
27	40	43	1800	0	0	open	\N	2026-12-03 08:03:24.080202+00	\N	21
28	42	43	1900	1900	0	captured	\N	2026-12-03 08:03:24.094034+00	2026-12-03 08:03:24.094034+00	22
29	40	43	2000	2000	0	captured	\N	2026-12-03 08:03:24.115745+00	2026-12-03 08:03:24.115745+00	23
30	40	43	2100	0	0	open	\N	2026-12-03 08:03:24.14203+00	\N	24
31	40	43	2200	1200	1000	captured	\N	2026-12-03 08:03:24.153976+00	2026-12-03 08:03:24.170056+00	25
32	40	43	4000	0	4000	released	\N	2026-12-03 08:03:24.175166+00	2026-12-03 08:03:24.185977+00	26
33	40	43	3000	0	0	open	\N	2026-12-03 08:03:24.185977+00	\N	26
34	42	43	1000	0	0	open	\N	2026-12-03 08:03:24.185977+00	\N	26
35	40	43	4100	0	4100	released	\N	2026-12-03 08:03:24.190909+00	2026-12-03 08:03:24.203642+00	27
36	40	43	2000	2000	0	captured	\N	2026-12-03 08:03:24.203642+00	2026-12-03 08:03:24.219387+00	27
37	42	43	2100	2100	0	captured	\N	2026-12-03 08:03:24.203642+00	2026-12-03 08:03:24.219387+00	27
38	42	46	5000	5000	0	captured	\N	2026-12-03 08:03:24.230043+00	2026-12-03 08:03:24.230043+00	28
39	42	46	5100	0	0	open	\N	2026-12-03 08:03:24.283297+00	\N	29
40	42	46	5200	5200	0	captured	\N	2026-12-03 08:03:24.293205+00	2026-12-03 08:03:24.293205+00	30
41	40	45	700	700	0	captured	\N	2026-12-03 08:03:24.362086+00	2026-12-03 08:03:24.362086+00	34
42	42	46	720	720	0	captured	\N	2026-12-03 08:03:24.389123+00	2026-12-03 08:03:24.389123+00	36
43	40	45	730	730	0	captured	\N	2026-12-03 08:03:24.404792+00	2026-12-03 08:03:25.628396+00	37
44	40	45	740	0	740	released	\N	2026-12-03 08:03:24.413851+00	2026-12-03 08:03:25.628396+00	38
45	48	43	1300	0	0	open	\N	2026-12-03 08:03:26.85568+00	\N	39
46	48	43	800	800	0	captured	\N	2026-12-03 08:03:26.873553+00	2026-12-03 08:03:26.873553+00	40
47	41	43	10	0	10	expired	2026-12-03 08:03:26.88454+00	2026-12-03 08:03:26.884303+00	2026-12-03 08:03:26.898837+00	\N
48	41	43	321	0	0	open	2027-01-02 08:03:26.90198+00	2026-12-03 08:03:26.901671+00	\N	\N
49	42	43	654	0	0	open	\N	2026-12-03 08:03:26.905008+00	\N	\N
\.


--
-- Data for Name: idempotency_keys; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.idempotency_keys (key, request, result, results, created_at) FROM stdin;
old-setup-key	deposit(4,1)	4	\N	2026-12-03 08:03:23.379617+00
old-c1-key-1	deposit(13,5001)	9	\N	2026-12-03 08:03:23.47+00
old-c1-key-2	withdraw(14,100)	10	\N	2026-12-03 08:03:23.47+00
old-c1-key-3	transfer(13,14,701)	11	\N	2026-12-03 08:03:23.47+00
old-c1-key-4	refund(11,200)	12	\N	2026-12-03 08:03:23.47+00
old-c1-key-5	hold(13,16,3000,0 months 7 days 0 us)	1	\N	2026-12-03 08:03:23.47+00
old-c1-key-6	capture(1,1000,partial)	13	\N	2026-12-03 08:03:23.47+00
old-c1-key-7	release(2)	501	\N	2026-12-03 08:03:23.47+00
old-c1-key-8	hold_batch(sha256:5d9222c17f238a5447c3f6f11ca006cacaa08b3b85c153eeb73c3eeedfb64bc9)	\N	{4,5}	2026-12-03 08:03:23.47+00
old-c1-key-9	capture_batch(sha256:fa1342a54b432aef9c8c1687bf43a5804e737d9f4f48a7d0d5c26dad200ef88c)	\N	{16,17}	2026-12-03 08:03:23.47+00
old-c1-key-10	open_deal(6:old-m1,6:old-s1,1501,NULL,NULL,NULL,NULL,0 months 7 days 0 us,escrow,NULL)	1	\N	2026-12-03 08:03:23.47+00
old-c2-key-1	deposit(21,5002)	25	\N	2026-12-03 08:03:23.47+00
old-c2-key-2	withdraw(22,200)	26	\N	2026-12-03 08:03:23.47+00
old-c2-key-3	transfer(21,22,702)	27	\N	2026-12-03 08:03:23.47+00
old-c2-key-4	refund(27,200)	28	\N	2026-12-03 08:03:23.47+00
old-c2-key-5	hold(21,24,3000,0 months 7 days 0 us)	8	\N	2026-12-03 08:03:23.47+00
old-c2-key-6	capture(8,1000,partial)	29	\N	2026-12-03 08:03:23.47+00
old-c2-key-7	release(9)	502	\N	2026-12-03 08:03:23.47+00
old-c2-key-8	hold_batch(sha256:7666cf6e5cc1d86d7f920ee082873c30e62d5277977c7f09d028a16c39f81975)	\N	{11,12}	2026-12-03 08:03:23.47+00
old-c2-key-9	capture_batch(sha256:506007226b8c8bf171b1043b84fa3d0bbb015dc138be77a22054607d62452719)	\N	{32,33}	2026-12-03 08:03:23.47+00
old-c2-key-10	open_deal(6:old-m2,6:old-s2,1502,NULL,NULL,NULL,NULL,0 months 7 days 0 us,escrow,NULL)	5	\N	2026-12-03 08:03:23.47+00
old-c3-key-1	deposit(29,5003)	41	\N	2026-12-03 08:03:23.47+00
old-c3-key-2	withdraw(30,300)	42	\N	2026-12-03 08:03:23.47+00
old-c3-key-3	transfer(29,30,703)	43	\N	2026-12-03 08:03:23.47+00
old-c3-key-4	refund(43,200)	44	\N	2026-12-03 08:03:23.47+00
old-c3-key-5	hold(29,32,3000,0 months 7 days 0 us)	15	\N	2026-12-03 08:03:23.47+00
old-c3-key-6	capture(15,1000,partial)	45	\N	2026-12-03 08:03:23.47+00
old-c3-key-7	release(16)	503	\N	2026-12-03 08:03:23.47+00
old-c3-key-8	hold_batch(sha256:46ac0319ae63ae55f398ad50f4195a721fefcc8983c322e61ebaf342c43e7b36)	\N	{18,19}	2026-12-03 08:03:23.47+00
old-c3-key-9	capture_batch(sha256:84dcb7fb3c8b9273648bb858ae95a3ed126be468132710d6ebe500648ce7ba59)	\N	{48,49}	2026-12-03 08:03:23.47+00
old-c3-key-10	open_deal(6:old-m3,6:old-s3,1503,NULL,NULL,NULL,NULL,0 months 7 days 0 us,escrow,NULL)	9	\N	2026-12-03 08:03:23.47+00
u-key-xts	deposit(38,12345)	53	\N	2026-12-03 08:03:23.837976+00
u-key-1	deposit(40,200000)	54	\N	2026-12-03 08:03:23.869204+00
u-key-2	deposit(41,50000)	55	\N	2026-12-03 08:03:23.869204+00
u-key-repay	repay(1,40,1500)	75	\N	2026-12-03 08:03:24.26321+00
u-key-invoice	pay_invoice(3,40,2000)	83	\N	2026-12-03 08:03:24.328132+00
u-key-hold	hold(41,43,321,0 months 30 days 0 us)	48	\N	2026-12-03 08:03:26.901671+00
u-key-transfer	transfer(41,40,4321)	96	\N	2026-12-03 08:03:26.905605+00
u-key-withdraw	withdraw(41,1000)	97	\N	2026-12-03 08:03:26.910508+00
\.


--
-- Data for Name: receivables; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.receivables (id, deal, kind, debtor, creditor, pay_to, amount, paid, due_at, status, created_at) FROM stdin;
1	28	loan	U-K1	U-BANK	42	5000	1500	2027-01-02 08:03:24.245106+00	open	2026-12-03 08:03:24.230043+00
2	30	loan	U-K1	U-BANK	42	5200	0	2027-01-02 08:03:24.295684+00	cancelled	2026-12-03 08:03:24.293205+00
3	31	invoice	U-M1	U-AGY	47	6000	2000	2026-12-17 08:03:24.319704+00	open	2026-12-03 08:03:24.313943+00
4	32	invoice	U-M2	U-AGY	47	6100	6100	2026-12-17 08:03:24.337468+00	paid	2026-12-03 08:03:24.332826+00
5	35	invoice	U-M2	U-AGY	47	710	0	2026-12-17 08:03:24.373631+00	open	2026-12-03 08:03:24.371747+00
6	36	loan	U-K1	U-BANK	42	720	0	2027-01-02 08:03:24.397361+00	open	2026-12-03 08:03:24.389123+00
\.


--
-- Data for Name: settlement_batches; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.settlement_batches (id, institution, cutoff, clearing, lines, paid_out, collected, closed_at) FROM stdin;
1	U-BANK	2026-12-03 08:03:26.91753+00	53	2	30956	5409	2026-12-03 08:03:26.91753+00
\.


--
-- Data for Name: settlement_lines; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.settlement_lines (batch, account, external_ref, "position", settled, transfer_id) FROM stdin;
1	40	US00-WALLET	-5409	-5409	98
1	43	US00-SHOP	30956	30956	99
\.


--
-- Data for Name: settlement_links; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.settlement_links (account, institution, external_ref, created_at) FROM stdin;
40	U-BANK	US00-WALLET	2026-12-03 08:03:23.869204+00
43	U-BANK	US00-SHOP	2026-12-03 08:03:23.869204+00
\.


--
-- Data for Name: terminals; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.terminals (terminal_no, name, currency, cash_account, created_at) FROM stdin;
U-T1	Upgrade terminal	USD	48	2026-12-03 08:03:23.869204+00
\.


--
-- Data for Name: terminal_cash; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.terminal_cash (terminal_no, denomination, pieces) FROM stdin;
U-T1	5000	0
U-T1	500	21
U-T1	100	41
U-T1	1000	12
\.


--
-- Data for Name: transfers; Type: TABLE DATA; Schema: escrow; Owner: postgres
--

COPY escrow.transfers (id, kind, debit_account, credit_account, amount, refunded, hold_id, refund_of, created_at) FROM stdin;
1	deposit	1	2	100000	0	\N	\N	2026-12-03 08:03:23.379617+00
2	deposit	1	3	100000	0	\N	\N	2026-12-03 08:03:23.379617+00
3	deposit	1	4	100000	0	\N	\N	2026-12-03 08:03:23.379617+00
4	deposit	1	4	1	0	\N	\N	2026-12-03 08:03:23.379617+00
5	deposit	1	13	1000000	0	\N	\N	2026-12-03 08:03:23.47+00
6	deposit	1	14	200000	0	\N	\N	2026-12-03 08:03:23.47+00
7	deposit	1	16	50000	0	\N	\N	2026-12-03 08:03:23.47+00
8	deposit	9	18	5000000	0	\N	\N	2026-12-03 08:03:23.47+00
9	deposit	1	13	5001	0	\N	\N	2026-12-03 08:03:23.47+00
10	withdraw	14	1	100	0	\N	\N	2026-12-03 08:03:23.47+00
11	transfer	13	14	701	200	\N	\N	2026-12-03 08:03:23.47+00
12	refund	14	13	200	0	\N	11	2026-12-03 08:03:23.47+00
13	capture	13	16	1000	1000	1	\N	2026-12-03 08:03:23.47+00
14	refund	16	13	1000	0	\N	13	2026-12-03 08:03:23.47+00
15	capture	15	2	4000	0	3	\N	2026-12-03 08:03:23.47+00
16	capture	13	16	100	0	4	\N	2026-12-03 08:03:23.47+00
17	capture	14	16	400	0	5	\N	2026-12-03 08:03:23.47+00
18	transfer	13	4	999	0	\N	\N	2026-12-03 08:03:23.47+00
19	capture	13	16	1501	0	6	\N	2026-12-03 08:03:23.47+00
20	transfer	16	17	22	0	\N	\N	2026-12-03 08:03:23.47+00
21	deposit	1	21	1000000	0	\N	\N	2026-12-03 08:03:23.47+00
22	deposit	1	22	200000	0	\N	\N	2026-12-03 08:03:23.47+00
23	deposit	1	24	50000	0	\N	\N	2026-12-03 08:03:23.47+00
24	deposit	9	26	5000000	0	\N	\N	2026-12-03 08:03:23.47+00
25	deposit	1	21	5002	0	\N	\N	2026-12-03 08:03:23.47+00
26	withdraw	22	1	200	0	\N	\N	2026-12-03 08:03:23.47+00
27	transfer	21	22	702	200	\N	\N	2026-12-03 08:03:23.47+00
28	refund	22	21	200	0	\N	27	2026-12-03 08:03:23.47+00
29	capture	21	24	1000	1000	8	\N	2026-12-03 08:03:23.47+00
30	refund	24	21	1000	0	\N	29	2026-12-03 08:03:23.47+00
31	capture	23	2	4000	0	10	\N	2026-12-03 08:03:23.47+00
32	capture	21	24	100	0	11	\N	2026-12-03 08:03:23.47+00
33	capture	22	24	400	0	12	\N	2026-12-03 08:03:23.47+00
34	transfer	21	4	999	0	\N	\N	2026-12-03 08:03:23.47+00
35	capture	21	24	1502	0	13	\N	2026-12-03 08:03:23.47+00
36	transfer	24	25	30	0	\N	\N	2026-12-03 08:03:23.47+00
37	deposit	1	29	1000000	0	\N	\N	2026-12-03 08:03:23.47+00
38	deposit	1	30	200000	0	\N	\N	2026-12-03 08:03:23.47+00
39	deposit	1	32	50000	0	\N	\N	2026-12-03 08:03:23.47+00
40	deposit	9	34	5000000	0	\N	\N	2026-12-03 08:03:23.47+00
41	deposit	1	29	5003	0	\N	\N	2026-12-03 08:03:23.47+00
42	withdraw	30	1	300	0	\N	\N	2026-12-03 08:03:23.47+00
43	transfer	29	30	703	200	\N	\N	2026-12-03 08:03:23.47+00
44	refund	30	29	200	0	\N	43	2026-12-03 08:03:23.47+00
45	capture	29	32	1000	1000	15	\N	2026-12-03 08:03:23.47+00
46	refund	32	29	1000	0	\N	45	2026-12-03 08:03:23.47+00
47	capture	31	2	4000	0	17	\N	2026-12-03 08:03:23.47+00
48	capture	29	32	100	0	18	\N	2026-12-03 08:03:23.47+00
49	capture	30	32	400	0	19	\N	2026-12-03 08:03:23.47+00
50	transfer	29	4	999	0	\N	\N	2026-12-03 08:03:23.47+00
51	capture	29	32	1503	0	20	\N	2026-12-03 08:03:23.47+00
52	transfer	32	33	37	0	\N	\N	2026-12-03 08:03:23.47+00
53	deposit	37	38	12345	0	\N	\N	2026-12-03 08:03:23.837976+00
54	deposit	39	40	200000	0	\N	\N	2026-12-03 08:03:23.869204+00
55	deposit	39	41	50000	0	\N	\N	2026-12-03 08:03:23.869204+00
56	deposit	39	46	500000	0	\N	\N	2026-12-03 08:03:23.869204+00
57	deposit	39	47	500000	0	\N	\N	2026-12-03 08:03:23.869204+00
58	deposit	39	48	25000	0	\N	\N	2026-12-03 08:03:23.869204+00
59	withdraw	48	39	500	0	\N	\N	2026-12-03 08:03:23.869204+00
60	capture	40	43	1600	0	25	\N	2026-12-03 08:03:24.049028+00
61	transfer	43	44	40	0	\N	\N	2026-12-03 08:03:24.049028+00
62	capture	42	43	1900	0	28	\N	2026-12-03 08:03:24.094034+00
63	transfer	43	44	47	0	\N	\N	2026-12-03 08:03:24.094034+00
65	transfer	43	44	50	50	\N	\N	2026-12-03 08:03:24.115745+00
66	refund	44	43	50	0	\N	65	2026-12-03 08:03:24.137965+00
64	capture	40	43	2000	2000	29	\N	2026-12-03 08:03:24.115745+00
67	refund	43	40	2000	0	\N	64	2026-12-03 08:03:24.137965+00
68	capture	40	43	1200	0	31	\N	2026-12-03 08:03:24.170056+00
69	transfer	43	44	30	0	\N	\N	2026-12-03 08:03:24.170056+00
70	capture	40	43	2000	0	36	\N	2026-12-03 08:03:24.219387+00
71	capture	42	43	2100	0	37	\N	2026-12-03 08:03:24.219387+00
72	transfer	43	44	102	0	\N	\N	2026-12-03 08:03:24.219387+00
73	transfer	46	43	4850	0	\N	\N	2026-12-03 08:03:24.230043+00
74	capture	42	46	5000	0	38	\N	2026-12-03 08:03:24.230043+00
75	transfer	40	42	1500	0	\N	\N	2026-12-03 08:03:24.26321+00
76	transfer	46	43	4947	0	\N	\N	2026-12-03 08:03:24.283297+00
77	transfer	46	43	5044	5044	\N	\N	2026-12-03 08:03:24.293205+00
79	refund	43	46	5044	0	\N	77	2026-12-03 08:03:24.310039+00
78	capture	42	46	5200	5200	40	\N	2026-12-03 08:03:24.293205+00
80	refund	46	42	5200	0	\N	78	2026-12-03 08:03:24.310039+00
81	transfer	47	43	6000	0	\N	\N	2026-12-03 08:03:24.313943+00
82	transfer	43	44	150	0	\N	\N	2026-12-03 08:03:24.313943+00
83	transfer	40	47	2000	0	\N	\N	2026-12-03 08:03:24.328132+00
84	transfer	47	43	6100	0	\N	\N	2026-12-03 08:03:24.332826+00
85	transfer	43	44	152	0	\N	\N	2026-12-03 08:03:24.332826+00
86	transfer	41	47	6100	0	\N	\N	2026-12-03 08:03:24.350735+00
87	capture	40	45	700	0	41	\N	2026-12-03 08:03:24.362086+00
88	transfer	47	45	710	0	\N	\N	2026-12-03 08:03:24.371747+00
89	transfer	46	45	699	0	\N	\N	2026-12-03 08:03:24.389123+00
90	capture	42	46	720	0	42	\N	2026-12-03 08:03:24.389123+00
91	capture	40	45	730	0	43	\N	2026-12-03 08:03:25.628396+00
92	deposit	39	48	1300	0	\N	\N	2026-12-03 08:03:26.85568+00
93	deposit	39	48	800	0	\N	\N	2026-12-03 08:03:26.873553+00
94	capture	48	43	800	0	46	\N	2026-12-03 08:03:26.873553+00
95	transfer	43	44	20	0	\N	\N	2026-12-03 08:03:26.873553+00
96	transfer	41	40	4321	0	\N	\N	2026-12-03 08:03:26.905605+00
97	withdraw	41	39	1000	0	\N	\N	2026-12-03 08:03:26.910508+00
98	settlement	53	40	5409	0	\N	\N	2026-12-03 08:03:26.91753+00
99	settlement	43	53	30956	0	\N	\N	2026-12-03 08:03:26.91753+00
\.


--
-- Name: accounts_id_seq; Type: SEQUENCE SET; Schema: escrow; Owner: postgres
--

SELECT pg_catalog.setval('escrow.accounts_id_seq', 53, true);


--
-- Name: deal_events_id_seq; Type: SEQUENCE SET; Schema: escrow; Owner: postgres
--

SELECT pg_catalog.setval('escrow.deal_events_id_seq', 219, true);


--
-- Name: deal_id_seq; Type: SEQUENCE SET; Schema: escrow; Owner: postgres
--

SELECT pg_catalog.setval('escrow.deal_id_seq', 41, true);


--
-- Name: hold_id_seq; Type: SEQUENCE SET; Schema: escrow; Owner: postgres
--

SELECT pg_catalog.setval('escrow.hold_id_seq', 49, true);


--
-- Name: receivables_id_seq; Type: SEQUENCE SET; Schema: escrow; Owner: postgres
--

SELECT pg_catalog.setval('escrow.receivables_id_seq', 6, true);


--
-- Name: settlement_batches_id_seq; Type: SEQUENCE SET; Schema: escrow; Owner: postgres
--

SELECT pg_catalog.setval('escrow.settlement_batches_id_seq', 1, true);


--
-- Name: transfer_id_seq; Type: SEQUENCE SET; Schema: escrow; Owner: postgres
--

SELECT pg_catalog.setval('escrow.transfer_id_seq', 99, true);


--
-- PostgreSQL database dump complete
--


