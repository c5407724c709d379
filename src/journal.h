/*-------------------------------------------------------------------------
 *
 * journal.h
 *	  The journal: hash-chained entries of every account, and folding the
 *	  legs that wait in escrow.unfolded into them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_JOURNAL_H
#define EP_JOURNAL_H

#include "escrowpay.h"
#include "fmgr.h"

#define EP_HASH_LEN 32			/* SHA-256 */

/* What one journal entry's hash covers (besides the previous hash) */
typedef struct EpEntry
{
	int64		account;		/* the account whose chain it extends */
	int64		seq;
	int64		transfer;
	const char *kind;
	int64		counterparty;	/* the transfer's other account */
	int64		amount;			/* signed: credit +, debit - */
	int64		balance;		/* the account's balance after it (running balance) */
	int64		hold_id;		/* 0: none */
	int64		refund_of;		/* 0: none */
} EpEntry;

extern void ep_entry_hash(const uint8 *prev, const EpEntry *e, uint8 *out);
extern void ep_apply_credits(int64 account, int64 *posted);

extern Datum escrow_entry_hash(PG_FUNCTION_ARGS);
extern Datum escrow_fold_journal(PG_FUNCTION_ARGS);

#endif							/* EP_JOURNAL_H */
