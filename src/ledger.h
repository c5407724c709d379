/*-------------------------------------------------------------------------
 *
 * ledger.h
 *	  Accounts, posted transfers, the journal and its hash chains.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_LEDGER_H
#define EP_LEDGER_H

#include "escrowpay.h"

#define EP_HASH_LEN 32			/* SHA-256 */

/* One posted transfer: two journal entries that sum to zero */
typedef struct EpPosting
{
	const char *kind;			/* deposit, withdraw, transfer, capture, refund */
	int64		id;				/* preallocated transfer id */
	int64		debit;			/* account debited (amount leaves it) */
	int64		credit;			/* account credited */
	int64		amount;			/* > 0 */
	int64		debit_unhold;	/* held amount the debit account gives up */
	int64		hold_id;		/* 0: none */
	int64		refund_of;		/* 0: none */
} EpPosting;

extern void ep_post_transfer(const EpPosting *p);
extern void ep_account_refusal(int64 account, const char *currency,
							   int64 posted_delta, int64 held_delta) pg_attribute_noreturn();
extern void ep_entry_hash(const uint8 *prev, int64 account, int64 seq,
						  int64 transfer, int64 amount, int64 balance,
						  uint8 *out);

#endif							/* EP_LEDGER_H */
