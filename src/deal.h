/*-------------------------------------------------------------------------
 *
 * deal.h
 *	  A deal as the lifecycle steps see it: its stages, its row, a step.
 *	  The lifecycle itself (transitions, deadlines) is lifecycle.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_DEAL_H
#define EP_DEAL_H

#include "escrowpay.h"
#include "fmgr.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

/*
 * The stages of a deal, each as X(enumerator, name in escrow.deals.stage):
 * the one list from which the enum EpStage and lifecycle.c's stage names
 * are made.
 */
#define EP_STAGES(X) \
	X(START, "start")			/* before open_deal() */ \
	X(ORDER_RECEIVED, "order_received") \
	X(IDENTITY_CONFIRMED, "identity_confirmed") \
	X(FUNDS_RESERVED, "funds_reserved") \
	X(SHIPPED, "shipped") \
	X(DELIVERED, "delivered") \
	X(SETTLED, "settled") \
	X(INVOICED, "invoiced")		/* agency: cooling-off over, invoice unpaid */ \
	X(COMPLETED, "completed") \
	X(CANCELLED, "cancelled") \
	X(EXPIRED, "expired") \
	X(RETURNED, "returned") \
	X(REFUNDED, "refunded") \
	X(DISPUTED, "disputed") \
	X(RESOLVED, "resolved") \
	X(UNPAID, "unpaid")			/* served first, not paid by the deadline */ \
	X(WRITTEN_OFF, "written_off")

#define EP_STAGE_ENUM(id, name) STAGE_##id,
typedef enum EpStage
{
	EP_STAGES(EP_STAGE_ENUM)
	STAGE_COUNT
} EpStage;

/* Who may take a transition (bit set) */
#define ACTOR_BUYER		0x01
#define ACTOR_MERCHANT	0x02
#define ACTOR_INSPECTOR 0x04
#define ACTOR_SYSTEM	0x08	/* run_maintenance() */
#define ACTOR_ADMIN		0x10	/* escrow_admin */
#define ACTOR_PARTIES	(ACTOR_BUYER | ACTOR_MERCHANT | ACTOR_INSPECTOR)

/* A deal row locked FOR UPDATE */
typedef struct EpDeal
{
	int64		id;
	char	   *txn_no;
	char	   *buyer;
	char	   *merchant;
	int64		amount;
	char	   *currency;
	int64		debit_account;
	int64		credit_account;
	int64		fee_account;	/* 0: none */
	int32		fee_bps;
	char	   *inspector;		/* NULL: none */
	EpStage		stage;
	bool		has_deadline;
	TimestampTz deadline;
	int64		hold_id;		/* 0: none */
	int64		capture_transfer;	/* 0: none */
	int64		fee_transfer;	/* 0: none */
	int64		held;
	int64		captured;
	int64		refunded;
	int64		fee;
	char	   *settlement;		/* the name of its settlement model */
	char	   *institution;	/* NULL for escrow */
	int64		institution_account;	/* 0: none */
	int32		discount_bps;
	int64		prepay_transfer;	/* 0: none */
	char	   *payment_method;	/* balance, credit, split, cash */
	bool		split;			/* paid from escrow.deal_sources */
	const struct EpModel *model;	/* its settlement model (model.h) */
} EpDeal;

/* What a transition changes besides the stage; the caller fills it in */
typedef struct EpStep
{
	const char *action;
	EpStage		to;
	const char *deadline;		/* NULL: keep; a term of the deadline table
								 * (lifecycle.c: "ship", "deliver", ...): now
								 * plus that term of the deal; "none": clear */
	char	   *payload;		/* JSON object text, or NULL for {} */
} EpStep;

/* deal.c: the deal row, the start and commit of a step, events */
extern void ep_lock_deal(int64 id, EpDeal *deal);
extern void ep_deal_begin(int64 deal_id, const char *action, const char *actor,
						  int extra, EpDeal *deal, EpStep *step);
extern void ep_deal_commit_step(EpDeal *deal, const char *actor, EpStep *step);
extern int	ep_actor_role(const EpDeal *deal, const char *actor);
extern bool ep_served_unpaid(const struct EpModel *model, EpStage stage, int64 held,
							 int64 captured);
extern bool ep_deal_served_unpaid(const EpDeal *deal);
extern void ep_deal_require_before_deadline(const EpDeal *deal, const char *action);
extern void ep_deal_require_stage(const EpDeal *deal, EpStage stage, const char *action);
extern void ep_deal_save_money(EpDeal *deal);
extern int64 ep_deal_transfer(EpDeal *deal, int64 debit, int64 credit, int64 amount);
extern void ep_deal_event(int64 deal, const char *action, EpStage from, EpStage to,
						  const char *actor, const char *payload);
extern void ep_deal_event_at(int64 deal, const char *action, const char *stage,
							 const char *actor, const char *payload);

#endif							/* EP_DEAL_H */
