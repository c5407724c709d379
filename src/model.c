/*-------------------------------------------------------------------------
 *
 * model.c
 *	  The table of settlement models: the one place a model is registered.
 *	  escrow.deals.settlement names one of them; the CHECK on that column
 *	  asks this table (escrow.settlement_fits below), so a model added
 *	  here is a valid settlement without any SQL change.
 *
 *-------------------------------------------------------------------------
 */
#include "model.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "limits.h"

PG_FUNCTION_INFO_V1(escrow_settlement_fits);
PG_FUNCTION_INFO_V1(escrow_settlement_receivable);

/*
 * Every settlement model, one line each, in the order messages list them;
 * the first is the default of escrow.open_deal().  Each is an EpModel
 * defined in a file of its own.
 */
#define EP_MODEL_LIST(MODEL) \
	MODEL(ep_model_escrow)			/* payment reservation: model_escrow.c */ \
	MODEL(ep_model_agency)			/* payment agency: model_agency.c */ \
	MODEL(ep_model_credit_finance)	/* credit finance: model_credit.c */ \
	/* a new model: one line above this one */

#define EP_MODEL_DECLARE(model) extern const EpModel model;
#define EP_MODEL_ENTRY(model) &model,

EP_MODEL_LIST(EP_MODEL_DECLARE)

static const EpModel *const ep_models[] = {EP_MODEL_LIST(EP_MODEL_ENTRY)};

/* The model a deal has when open_deal names none */
const EpModel *
ep_model_default(void)
{
	return ep_models[0];
}

/* The model called name, or NULL */
const EpModel *
ep_model_by_name(const char *name)
{
	size_t		i;

	for (i = 0; i < lengthof(ep_models); i++)
		if (strcmp(ep_models[i]->name, name) == 0)
			return ep_models[i];
	return NULL;
}

/* The model of a deal read from its row (the CHECK allows no other) */
const EpModel *
ep_model_of(const EpDeal *d)
{
	const EpModel *m = ep_model_by_name(d->settlement);

	if (m == NULL)
		elog(ERROR, "escrowpay: deal %s has unknown settlement \"%s\"", d->txn_no,
			 d->settlement);
	return m;
}

/* Whether model offers an optional step of the transition table */
bool
ep_model_offers(const EpModel *model, const char *action)
{
	const char *const *s;

	for (s = model->steps; s && *s; s++)
		if (strcmp(*s, action) == 0)
			return true;
	return false;
}

/*
 * The names of the models offering action ("escrow, agency"), or of all
 * models when action is NULL ("escrow, agency or credit_finance" with
 * last_sep " or ").
 */
char *
ep_model_list(const char *action, const char *last_sep)
{
	StringInfoData s;
	size_t		i;
	size_t		n = 0;
	size_t		total = 0;

	for (i = 0; i < lengthof(ep_models); i++)
		if (action == NULL || ep_model_offers(ep_models[i], action))
			total++;
	initStringInfo(&s);
	for (i = 0; i < lengthof(ep_models); i++)
	{
		if (action != NULL && !ep_model_offers(ep_models[i], action))
			continue;
		if (n > 0)
			appendStringInfoString(&s, n + 1 == total ? last_sep : ", ");
		appendStringInfoString(&s, ep_models[i]->name);
		n++;
	}
	return s.data;
}

/*
 * escrow.settlement_fits(settlement text, institution text) RETURNS boolean
 *
 * The CHECK on escrow.deals: settlement names a model of the table above,
 * and the deal names an institution exactly when that model is paid by
 * one.  Not STRICT: a deal without institution passes NULL.
 */
Datum
escrow_settlement_fits(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	const EpModel *m;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(false);
	m = ep_model_by_name(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_BOOL(m != NULL && m->institution == !PG_ARGISNULL(1));
}

/*
 * escrow.settlement_receivable(settlement text) RETURNS text
 *
 * The kind of receivable ("invoice", "loan") a settled deal of this model
 * has, NULL for a model with none or an unknown name: what
 * verify_ledger() checks deals' receivables against.
 */
Datum
escrow_settlement_receivable(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	const EpModel *m = ep_model_by_name(text_to_cstring(PG_GETARG_TEXT_PP(0)));

	if (m == NULL || m->receivable == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(m->receivable));
}
