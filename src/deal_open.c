/*-------------------------------------------------------------------------
 *
 * deal_open.c
 *	  The first steps of a deal: escrow.open_deal() (a provisional
 *	  agreement at order_received) and the buyer's identity confirmation
 *	  by a one-time code (issue_identity_code, confirm_identity).
 *
 * The application calls these on behalf of a party: `actor` is the
 * party number (member or merchant) or the deal's designated inspector,
 * and is recorded in escrow.deal_events.
 *
 *-------------------------------------------------------------------------
 */
#include "deal_open.h"

#include "attempts.h"
#include "codes.h"
#include "deal.h"
#include "hold.h"
#include "idempotency.h"
#include "lifecycle.h"
#include "model.h"
#include "money.h"
#include "party.h"
#include "payload.h"
#include "limits.h"
#include "plan.h"
#include "row.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(escrow_open_deal);
PG_FUNCTION_INFO_V1(escrow_issue_identity_code);
PG_FUNCTION_INFO_V1(escrow_confirm_identity);

/*
 * open_deal's look-up of its parties and their accounts on a Citus
 * cluster, where one statement cannot join the buyer's and the merchant's
 * accounts (on different workers): the accounts read one statement each,
 * then the same row, the same columns in the same order, as on one server
 * (none when an account is missing).
 */
static uint64
deal_parties_each(Datum *values)
{
	static EpPlan ids = EP_PLAN("SELECT coalesce(b.account, b.settlement_account), "
		"       coalesce(m.settlement_account, m.account) "
		"  FROM escrow.parties b, escrow.parties m WHERE b.party_no = $1 AND m.party_no = $2",
		TEXTOID, TEXTOID);
	static EpPlan account = EP_PLAN("SELECT kind, currency FROM escrow.accounts WHERE id = $1",
		INT8OID);
	static EpPlan row = EP_PLAN("SELECT b.account AS buyer_account, m.settlement_account, m.fee_account, m.fee_bps, "
		"       m.inspection_window, m.cooling_off, $3 AS buyer_account_kind, "
		"       $4 AS buyer_currency, $5 AS merchant_currency "
		"  FROM escrow.parties b, escrow.parties m "
		" WHERE b.party_no = $1 AND m.party_no = $2 AND $3 IS NOT NULL AND $5 IS NOT NULL",
		TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID);
	Datum		args[5] = {values[0], values[1], 0, 0, 0};
	char		nulls[5] = {' ', ' ', 'n', 'n', 'n'};
	int64		acct[2] = {0, 0};
	int			i;

	if (ep_exec(&ids, args, NULL, 1) == 1)
	{
		(void) ep_get_int64(0, 1, &acct[0]);
		(void) ep_get_int64(0, 2, &acct[1]);
	}
	for (i = 0; i < 2; i++)
	{
		Datum		id = Int64GetDatum(acct[i]);

		if (acct[i] == 0 || ep_exec(&account, &id, NULL, 1) != 1)
			continue;
		if (i == 0)
		{
			args[2] = CStringGetTextDatum(ep_text(0, 1));
			args[3] = CStringGetTextDatum(ep_text(0, 2));
			nulls[2] = nulls[3] = ' ';
		}
		else
		{
			args[4] = CStringGetTextDatum(ep_text(0, 2));
			nulls[4] = ' ';
		}
	}
	return ep_exec(&row, args, nulls, 1);
}

/*
 * escrow.open_deal(buyer text, merchant text, amount bigint,
 *					inspection_place text DEFAULT NULL, carrier text DEFAULT NULL,
 *					provider text DEFAULT NULL, inspector text DEFAULT NULL,
 *					ship_within interval DEFAULT '7 days',
 *					idempotency_key text DEFAULT NULL,
 *					settlement text DEFAULT 'escrow',
 *					institution text DEFAULT NULL) RETURNS bigint
 *
 * A provisional agreement: the deal starts at order_received; the buyer's
 * default account decides the payment method.  settlement names the
 * deal's settlement model (model.c); 'agency' and 'credit_finance' name
 * the institution that pays the merchant.  Returns
 * the deal id.
 */
Datum
escrow_open_deal(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan parties = EP_PLAN("SELECT b.account AS buyer_account, m.settlement_account, m.fee_account, m.fee_bps, "
		"       m.inspection_window, m.cooling_off, ba.kind AS buyer_account_kind, "
		"       ba.currency AS buyer_currency, ma.currency AS merchant_currency "
		"  FROM escrow.parties b, escrow.parties m, escrow.accounts ba, escrow.accounts ma "
		" WHERE b.party_no = $1 AND m.party_no = $2 "
		"   AND ba.id = coalesce(b.account, b.settlement_account) "
		"   AND ma.id = coalesce(m.settlement_account, m.account)", TEXTOID, TEXTOID);
	enum
	{
		P_BUYER_ACCOUNT, P_SETTLEMENT_ACCOUNT, P_FEE_ACCOUNT, P_FEE_BPS, P_INSPECTION_WINDOW,
		P_COOLING_OFF, P_BUYER_ACCOUNT_KIND, P_BUYER_CURRENCY, P_MERCHANT_CURRENCY, P_COUNT
	};
	static EpColumns party_cols = {P_COUNT, {
			[P_BUYER_ACCOUNT] = "buyer_account", [P_SETTLEMENT_ACCOUNT] = "settlement_account",
			[P_FEE_ACCOUNT] = "fee_account", [P_FEE_BPS] = "fee_bps",
			[P_INSPECTION_WINDOW] = "inspection_window", [P_COOLING_OFF] = "cooling_off",
			[P_BUYER_ACCOUNT_KIND] = "buyer_account_kind", [P_BUYER_CURRENCY] = "buyer_currency",
	[P_MERCHANT_CURRENCY] = "merchant_currency"}};
	static EpPlan party_kind = EP_PLAN("SELECT kind FROM escrow.parties WHERE party_no = $1",
		TEXTOID);
	static EpPlan insert = EP_PLAN("INSERT INTO escrow.deals (id, txn_no, buyer, merchant, amount, currency, "
		"  payment_method, debit_account, credit_account, fee_account, fee_bps, "
		"  inspection_place, carrier, provider, inspector, stage, ship_within, "
		"  inspection_window, cooling_off, settlement, institution, institution_account, "
		"  discount_bps, repay_within, deliver_within, refund_within, pay_within) "
		"SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, "
		"       'order_received', $16, $17, $18, $19, i.party_no, i.settlement_account, "
		"       coalesce(i.discount_bps, 0), i.repay_within, "
		"       m.deliver_within, m.refund_within, m.pay_within "
		"  FROM escrow.parties m LEFT JOIN escrow.parties i ON i.party_no = $20 "
		" WHERE m.party_no = $4",
		INT8OID, TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, INTERVALOID, INTERVALOID, INTERVALOID, TEXTOID, TEXTOID);
	static EpPlan institution_plan = EP_PLAN("SELECT i.kind, a.currency FROM escrow.parties i "
		"  LEFT JOIN escrow.accounts a ON a.id = i.settlement_account WHERE i.party_no = $1",
		TEXTOID);
	char	   *buyer = ep_arg_text(fcinfo, 0, "buyer");
	char	   *merchant = ep_arg_text(fcinfo, 1, "merchant");
	int64		amount = ep_arg_amount(fcinfo, 2, "amount");
	char	   *place = ep_arg_opt_text(fcinfo, 3);
	char	   *carrier = ep_arg_opt_text(fcinfo, 4);
	char	   *provider = ep_arg_opt_text(fcinfo, 5);
	char	   *inspector = ep_arg_opt_text(fcinfo, 6);
	Interval   *ship_within = ep_arg_interval(fcinfo, 7, "ship_within");
	char	   *key = ep_arg_key(fcinfo, 8);
	const char *settlement = PG_ARGISNULL(9) ? ep_model_default()->name : text_to_cstring(PG_GETARG_TEXT_PP(9));
	char	   *institution = ep_arg_opt_text(fcinfo, 10);
	Datum		values[20];
	char		nulls[20];
	bool		isnull;
	int64		id;
	int64		prior;
	const EpModel *model;
	EpRows		p;
	char	   *currency;
	char	   *account_kind;
	const char *who[2] = {buyer, merchant};
	const char *kinds[2] = {"member", "merchant"};
	int			i;

	if (strcmp(buyer, merchant) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("buyer and merchant must differ")));
	model = ep_model_by_name(settlement);
	if (model == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown settlement \"%s\"", settlement),
				 errhint("Use %s.", ep_model_list(NULL, " or "))));
	if (model->institution != (institution != NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("settlement %s %s", settlement,
						institution ? "takes no institution" : "needs an institution")));
	if (inspector && pg_strcasecmp(inspector, "system") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("inspector \"%s\" is reserved", inspector),
				 errdetail("\"system\" is the actor of run_maintenance().")));
	if (inspector && (strcmp(inspector, buyer) == 0 || strcmp(inspector, merchant) == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the inspector must be neither the buyer nor the merchant"),
				 errhint("Leave inspector NULL when the buyer inspects.")));

	SPI_connect();
	for (i = 0; i < 2; i++)
	{
		ep_require_party_kind(&party_kind, who[i], kinds[i]);
	}

	id = ep_next_id("deal_id_seq");
	/* a NULL settlement is the default model, in the request too */
	if (PG_ARGISNULL(9))
	{
		fcinfo->args[9].value = CStringGetTextDatum(settlement);
		fcinfo->args[9].isnull = false;
	}
	if (ep_idem_claim_call(fcinfo, key, "open_deal", "ttittttv-rt", id, &prior))
	{
		SPI_finish();
		PG_RETURN_INT64(prior);
	}

	values[0] = CStringGetTextDatum(buyer);
	values[1] = CStringGetTextDatum(merchant);
	if ((ep_distributed() ? deal_parties_each(values) : ep_exec(&parties, values, NULL, 1)) != 1)
		elog(ERROR, "escrowpay: accounts of parties %s and %s are missing", buyer, merchant);
	p = ep_rows(&party_cols, 1);
	currency = ep_row_text(&p, 0, P_BUYER_CURRENCY);
	account_kind = ep_row_text(&p, 0, P_BUYER_ACCOUNT_KIND);
	if (strcmp(currency, ep_row_text(&p, 0, P_MERCHANT_CURRENCY)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_EP_CURRENCY_MISMATCH),
				 errmsg("currency mismatch between accounts"),
				 errdetail("The buyer pays in %s, the merchant settles in %s.",
						   currency, ep_row_text(&p, 0, P_MERCHANT_CURRENCY))));

	if (model->credit_line_only && strcmp(account_kind, "credit") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs a buyer paying by credit line", model->concept),
				 errdetail("Member %s pays from a %s account.", buyer, account_kind)));
	if (institution)
	{
		ep_require_party_kind(&institution_plan, institution, "institution");
		if (strcmp(ep_text(0, 2), currency) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_EP_CURRENCY_MISMATCH),
					 errmsg("currency mismatch between accounts"),
					 errdetail("The deal is in %s, institution %s works in %s.",
							   currency, institution, ep_text(0, 2))));
	}

	memset(nulls, ' ', sizeof(nulls));
	values[0] = Int64GetDatum(id);
	values[1] = CStringGetTextDatum(ep_txn_no_of(id));
	values[2] = CStringGetTextDatum(buyer);
	values[3] = CStringGetTextDatum(merchant);
	values[4] = Int64GetDatum(amount);
	values[5] = CStringGetTextDatum(currency);
	values[6] = CStringGetTextDatum(strcmp(account_kind, "credit") == 0 ? "credit" : "balance");
	values[7] = Int64GetDatum(ep_row_int64(&p, 0, P_BUYER_ACCOUNT));
	values[8] = Int64GetDatum(ep_row_int64(&p, 0, P_SETTLEMENT_ACCOUNT));
	values[9] = ep_row_datum(&p, 0, P_FEE_ACCOUNT, &isnull);
	nulls[9] = isnull ? 'n' : ' ';
	values[10] = ep_row_datum(&p, 0, P_FEE_BPS, &isnull);
	values[11] = place ? CStringGetTextDatum(place) : (Datum) 0;
	nulls[11] = place ? ' ' : 'n';
	values[12] = carrier ? CStringGetTextDatum(carrier) : (Datum) 0;
	nulls[12] = carrier ? ' ' : 'n';
	values[13] = provider ? CStringGetTextDatum(provider) : (Datum) 0;
	nulls[13] = provider ? ' ' : 'n';
	values[14] = inspector ? CStringGetTextDatum(inspector) : (Datum) 0;
	nulls[14] = inspector ? ' ' : 'n';
	values[15] = IntervalPGetDatum(ship_within);
	values[16] = ep_row_datum(&p, 0, P_INSPECTION_WINDOW, &isnull);
	values[17] = ep_row_datum(&p, 0, P_COOLING_OFF, &isnull);
	values[18] = CStringGetTextDatum(settlement);
	values[19] = institution ? CStringGetTextDatum(institution) : (Datum) 0;
	nulls[19] = institution ? ' ' : 'n';
	/* e.g. a credit institution's cost to the merchant is its discount, not a fee */
	if (!model->merchant_fee)
		values[10] = Int32GetDatum(0);
	ep_exec(&insert, values, nulls, 0);

	{
		StringInfoData p;

		ep_json_begin(&p);
		ep_json_str(&p, "txn_no", ep_txn_no_of(id));
		ep_json_int(&p, "amount", amount);
		ep_deal_event(id, "open_deal", STAGE_START, STAGE_ORDER_RECEIVED, buyer, ep_json_end(&p));
	}
	SPI_finish();
	PG_RETURN_INT64(id);
}


/*
 * escrow.issue_identity_code(deal bigint) RETURNS text
 *
 * A one-time 8-digit code for the application to send to the buyer's
 * contact; only its HMAC under the first key of escrowpay.hmac_key_file is
 * kept, with the key's id.  Issuing again replaces the previous code; the
 * count of wrong attempts is per deal and does not reset (the attempts
 * counted in shared memory are carried into code_attempts here), so
 * re-issuing cannot buy more guesses (a locked deal is cancelled and
 * opened again).  55000 without escrowpay in shared_preload_libraries or
 * without a usable key file.
 */
Datum
escrow_issue_identity_code(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan created = EP_PLAN("SELECT created_at FROM escrow.deals WHERE id = $1", INT8OID);
	static EpPlan store = EP_PLAN("UPDATE escrow.deals SET code_hmac = $2, code_key_id = $4, "
		"       code_issued_at = clock_timestamp(), "
		"       code_expires_at = clock_timestamp() + make_interval(secs => $3), "
		"       code_attempts = greatest(code_attempts, $5), "
		"       updated_at = now() "
		" WHERE id = $1", INT8OID, BYTEAOID, INT4OID, TEXTOID, INT4OID);
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	EpHmacKeys *keys;
	EpDeal		d;
	char	   *code;
	bytea	   *mac;
	Datum		values[5];
	bool		isnull;
	text	   *result;

	ep_attempts_require();
	keys = ep_hmac_keys_load();
	SPI_connect();
	ep_lock_deal(deal_id, &d);
	ep_deal_require_stage(&d, STAGE_ORDER_RECEIVED, "issue_identity_code");
	code = ep_random_digits(8);
	mac = palloc(VARHDRSZ + EP_HMAC_LEN);
	SET_VARSIZE(mac, VARHDRSZ + EP_HMAC_LEN);
	ep_code_hmac(&keys->keys[0], deal_id, code, (uint8 *) VARDATA(mac));
	values[0] = Int64GetDatum(deal_id);
	ep_exec(&created, values, NULL, 1);
	values[4] = Int32GetDatum(ep_attempt_count(deal_id,
											   DatumGetTimestampTz(ep_datum(0, 1, &isnull))));
	values[1] = PointerGetDatum(mac);
	values[2] = Int32GetDatum(ep_code_ttl);
	values[3] = CStringGetTextDatum(keys->keys[0].id);
	ep_exec(&store, values, NULL, 0);
	ep_hmac_keys_free(keys);
	ep_deal_event(deal_id, "issue_identity_code", d.stage, d.stage, d.buyer,
				  psprintf("{\"valid_seconds\": %d}", ep_code_ttl));
	/* into the caller's memory: SPI_finish() frees SPI's */
	result = (text *) DatumGetPointer(SPI_datumTransfer(CStringGetTextDatum(code), false, -1));
	SPI_finish();
	PG_RETURN_TEXT_P(result);
}

/*
 * escrow.confirm_identity(deal bigint, code text) RETURNS boolean
 *
 * true: the code is right and the deal moves to identity_confirmed.
 * false: a wrong code, counted (the count must survive, so this is a
 * result and not an error).  EP008 when no code is pending, it expired,
 * it was issued before the server last started, its key is no longer in
 * escrowpay.hmac_key_file, or the attempts are used up.
 *
 * The attempt is counted in shared memory before the code is compared
 * (attempts.c), where no rollback of the caller can undo it; the deal's
 * count is the larger of that and code_attempts.  A right code gives its
 * attempt back.
 */
Datum
escrow_confirm_identity(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	static EpPlan fetch = EP_PLAN("SELECT code_hmac, code_expires_at <= clock_timestamp() AS expired, code_attempts, "
		"       coalesce(code_key_id, '') AS key_id, "
		"       coalesce(code_issued_at < $2, true) AS void, created_at, code_expires_at "
		"  FROM escrow.deals WHERE id = $1", INT8OID, TIMESTAMPTZOID);
	enum
	{
		C_HMAC, C_EXPIRED, C_ATTEMPTS, C_KEY_ID, C_VOID, C_CREATED_AT, C_EXPIRES_AT, C_COUNT
	};
	static EpColumns code_cols = {C_COUNT, {
			[C_HMAC] = "code_hmac", [C_EXPIRED] = "expired", [C_ATTEMPTS] = "code_attempts",
			[C_KEY_ID] = "key_id", [C_VOID] = "void", [C_CREATED_AT] = "created_at",
	[C_EXPIRES_AT] = "code_expires_at"}};
	static EpPlan wrong = EP_PLAN("UPDATE escrow.deals SET code_attempts = $2, updated_at = now() "
		" WHERE id = $1", INT8OID, INT4OID);
	static EpPlan clear = EP_PLAN("UPDATE escrow.deals SET code_hmac = NULL, code_key_id = NULL, "
		"       code_issued_at = NULL, code_expires_at = NULL WHERE id = $1", INT8OID);
	int64		deal_id = ep_arg_id(fcinfo, 0, "deal");
	char	   *code = ep_arg_text(fcinfo, 1, "code");
	EpHmacKeys *keys;
	const EpHmacKey *key;
	EpDeal		d;
	EpStep		step;
	Datum		values[2];
	bool		isnull;
	Datum		stored;
	char	   *key_id;
	TimestampTz created;
	int			attempts;
	int			counted;
	uint8		mac[EP_HMAC_LEN];
	bool		ok;
	EpRows		r;

	ep_attempts_require();
	keys = ep_hmac_keys_load();
	/* the buyer acts here, proven by the code: the check needs the deal first */
	SPI_connect();
	ep_lock_deal(deal_id, &d);
	ep_deal_check(&d, "confirm_identity", d.buyer, 0, &step);
	values[0] = Int64GetDatum(deal_id);
	values[1] = TimestampTzGetDatum(ep_attempts_epoch());
	ep_exec(&fetch, values, NULL, 1);
	r = ep_rows(&code_cols, 1);
	stored = ep_row_datum(&r, 0, C_HMAC, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("no identity code is pending for deal %s", d.txn_no),
				 errhint("Issue one with escrow.issue_identity_code().")));
	attempts = ep_row_int32(&r, 0, C_ATTEMPTS);
	if (attempts >= ep_max_code_attempts)
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("too many wrong identity codes for deal %s", d.txn_no),
				 errdetail("%d wrong attempts; the limit is %d.", attempts, ep_max_code_attempts),
				 errhint("The deal stays locked: cancel it and open a new one.")));
	if (ep_row_bool(&r, 0, C_VOID))
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("the identity code for deal %s is void", d.txn_no),
				 errdetail("It was issued before the server last started (or restarted after "
						   "a crash), which forgot the attempts counted in shared memory."),
				 errhint("Issue a new code with escrow.issue_identity_code().")));
	if (ep_row_bool(&r, 0, C_EXPIRED))
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("the identity code for deal %s has expired", d.txn_no),
				 errhint("Issue a new code with escrow.issue_identity_code().")));
	key_id = ep_row_text(&r, 0, C_KEY_ID);
	key = ep_hmac_key_find(keys, key_id);
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("the identity code for deal %s is void", d.txn_no),
				 errdetail("It was issued under key \"%s\", which is no longer in "
						   "escrowpay.hmac_key_file.", key_id),
				 errhint("Issue a new code with escrow.issue_identity_code().")));
	created = DatumGetTimestampTz(ep_row_datum(&r, 0, C_CREATED_AT, &isnull));
	if (!ep_attempt_take(deal_id, created,
						 DatumGetTimestampTz(ep_row_datum(&r, 0, C_EXPIRES_AT, &isnull)),
						 attempts, ep_max_code_attempts, &counted))
		ereport(ERROR,
				(errcode(ERRCODE_EP_BAD_CODE),
				 errmsg("too many wrong identity codes for deal %s", d.txn_no),
				 errdetail("%d attempts counted, also those rolled back; the limit is %d.",
						   counted, ep_max_code_attempts),
				 errhint("The deal stays locked: cancel it and open a new one.")));

	ep_code_hmac(key, deal_id, code, mac);
	ep_hmac_keys_free(keys);
	ok = VARSIZE_ANY_EXHDR(DatumGetByteaPP(stored)) == EP_HMAC_LEN &&
		ep_hmac_equal(mac, (const uint8 *) VARDATA_ANY(DatumGetByteaPP(stored)));
	if (!ok)
	{
		values[1] = Int32GetDatum(counted + 1);
		ep_exec(&wrong, values, NULL, 0);
		ep_deal_event(deal_id, "wrong_identity_code", d.stage, d.stage, d.buyer,
					  psprintf("{\"attempt\": %d}", counted + 1));
		ereport(NOTICE,
				(errmsg("wrong identity code for deal %s", d.txn_no),
				 errdetail("%d of %d attempts left.", ep_max_code_attempts - counted - 1,
						   ep_max_code_attempts)));
		SPI_finish();
		PG_RETURN_BOOL(false);
	}
	ep_attempt_right(deal_id, created, counted, attempts);
	ep_exec(&clear, values, NULL, 0);
	ep_deal_commit_step(&d, d.buyer, &step);
	SPI_finish();
	PG_RETURN_BOOL(true);
}

