/*-------------------------------------------------------------------------
 *
 * model.h
 *	  Settlement models as data: one operations struct per model, in the
 *	  spirit of an access method's routine struct, registered in the one
 *	  table of model.c.  The lifecycle steps (deal_steps.c, deal_open.c,
 *	  deal_maintenance.c, terminal.c, sources.c) never ask which model a
 *	  deal has: they call its operations and read its properties.
 *
 *	  A new model is one new file defining an EpModel, plus one line in
 *	  EP_MODEL_LIST (model.c); docs/architecture.md has the checklist.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_MODEL_H
#define EP_MODEL_H

#include "deal.h"
#include "lib/stringinfo.h"

/*
 * What a model does at each money step.  Every operation moves money only
 * through the ledger (hold.c, refund.c, ledger.c, sources.c, finance.c),
 * updates the deal's money columns in *deal (the step commits them) and
 * records what moved in the step's JSON payload.
 */
typedef struct EpModel
{
	const char *name;			/* escrow.deals.settlement, open_deal's argument */
	const char *concept;		/* the business concept, for messages */

	/* properties that open_deal and the steps check */
	bool		institution;	/* paid by an institution named at open_deal */
	bool		credit_line_only;	/* the buyer must pay by credit line */
	bool		merchant_fee;	/* the merchant's fee_bps applies (else 0) */
	bool		buyer_pays;		/* paid from the buyer's own accounts: payment
								 * sources may change; served first, the buyer
								 * pays by the payment deadline */
	const char *receivable;		/* the receivable a settled deal has
								 * (finance.c: "invoice", "loan"), or NULL */
	const char *const *steps;	/* the optional steps of the transition table
								 * (deal.c) it offers; NULL-terminated */

	/* reserve: funds_reserved; what backs the deal until receipt */
	void		(*reserve) (EpDeal *deal, StringInfo payload);
	/* settle: receipt confirmed (confirm_inspection, auto_accept, pay later) */
	void		(*settle) (EpDeal *deal, StringInfo payload);
	/* cancel: before receipt (cancel_deal, expire): give back what backs it */
	void		(*cancel) (EpDeal *deal, StringInfo payload);
	/* unwind: the goods are back (confirm_return): undo everything */
	void		(*unwind) (EpDeal *deal, StringInfo payload);
	/* refund: resolve_dispute gives the buyer back buyer_share */
	void		(*refund) (EpDeal *deal, int64 buyer_share, StringInfo payload);
	/* owed: what the buyer still owes before the deal may complete (NULL: nothing) */
	int64		(*owed) (const EpDeal *deal, int64 *receivable);

	/*
	 * A model paid by an institution (finance.c): the halves of receipt and
	 * give-back that its settle and refund, ep_financed_settle and
	 * ep_financed_refund, call.  NULL for the others.
	 */
	const struct EpFinancedOps *financed;
} EpModel;

extern const EpModel *ep_model_default(void);
extern const EpModel *ep_model_by_name(const char *name);
extern const EpModel *ep_model_of(const EpDeal *deal);
extern bool ep_model_offers(const EpModel *model, const char *action);
extern char *ep_model_list(const char *action, const char *last_sep);

#endif							/* EP_MODEL_H */
