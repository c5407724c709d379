/*-------------------------------------------------------------------------
 *
 * ledger.h
 *	  The double-entry core: posted transfers, who owns them, and
 *	  reserving funds for holds.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_LEDGER_H
#define EP_LEDGER_H

#include "escrowpay.h"
#include "direct.h"

/*
 * Who a transfer belongs to (escrow.transfer_owners): at most one field
 * set; all zero/NULL for a transfer of the public API, which anyone with
 * escrow.refund() may reverse.  An owned transfer moves only through its
 * owner.
 */
typedef struct EpOwner
{
	int64		deal;			/* 0: none */
	int64		receivable;		/* 0: none */
	const char *terminal;		/* NULL: none */
	int64		batch;			/* settlement batch; 0: none */
} EpOwner;

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
	EpOwner		owner;			/* zero: nobody's */
	bool		public_call;	/* accounts named by a public call's caller:
								 * the platform's own refused */
} EpPosting;

/* An account row as the slow paths see it */
typedef struct EpAccount
{
	int64		id;
	char	   *kind;
	char	   *currency;
	int64		posted;			/* folded balance (accounts.posted) */
	int64		held;
	int64		limit;
	bool		funding;
	bool		platform;		/* accounts.platform */
} EpAccount;

/*
 * The one-statement reservation of a hold (SQL text; d, c, amt and pub
 * name the parameters of debit, credit, amount and whether a public call
 * named the accounts): held += amount on the debit row when both accounts
 * exist, differ, share a currency, neither is a funding account nor, for
 * a public call, another account of the platform's own, the debit is no
 * system account named by a public call (its caller must be escrow_admin:
 * ep_check_hold_accounts() decides), and the folded funds cover it.  It updates one row or none; on none,
 * ep_check_hold_accounts() and ep_add_held() decide and say why.  A
 * statement over two accounts: not on a Citus cluster.  A hold runs it
 * only where it cannot write the tables directly; reserve_qualifies()
 * (ledger.c) is the same qualification in C: change both together (the
 * refusals of 03_holds, 32_platform_accounts and 35_system_accounts go
 * through the C one, 37_direct_writes through both).
 */
#define EP_RESERVE_SQL(d, c, amt, pub) \
	"UPDATE escrow.accounts a SET held = a.held + " amt \
	"  FROM escrow.accounts c " \
	" WHERE a.id = " d " AND c.id = " c " AND a.id <> c.id AND c.currency = a.currency " \
	"   AND c.owner <> '" EP_FUNDING_OWNER "' " \
	"   AND NOT (" pub " AND (a.platform OR c.platform OR a.kind = 'system')) " \
	"   AND " EP_HELD_GUARD_SQL(amt)

/*
 * The funds guard of every reservation (SQL text over the account row
 * aliased a; amt names the amount): held += amt on a is allowed when a is
 * no funding account, held stays within the largest balance, and the
 * folded funds cover it (a system account needs none).  EP_RESERVE_SQL,
 * ep_add_held() and ep_add_held_per_account() all use it;
 * reserve_qualifies() (ledger.c) is the same test in C.
 */
#define EP_HELD_GUARD_SQL(amt) \
	"a.owner <> '" EP_FUNDING_OWNER "' " \
	"   AND a.held <= " EP_MAX_BALANCE_SQL " - " amt \
	"   AND (a.kind = 'system' OR a.posted >= (a.held + " amt ") - a.credit_limit)"

extern void ep_post_transfer(const EpPosting *p);
extern void ep_fetch_account(int64 id, const char *currency, bool allow_funding,
							 bool allow_platform, bool lock, EpAccount *a);
extern void ep_refuse_platform_account(int64 id);
extern void ep_check_hold_accounts(int64 debit, int64 credit, bool public_call);
extern void ep_add_held(int64 debit, int64 amount);
extern void ep_add_held_per_account(int64 *pairs, int n);
extern int	ep_reserve_direct(EpDirect *accounts, int64 debit, int64 credit, int64 amount,
							  bool public_call);
extern void ep_unhold(int64 account, int64 amount);
extern int	ep_cmp_int64(const void *a, const void *b);
extern void ep_apply_per_account(int64 *pairs, int n, const char *what,
								 void (*apply) (int64 account, int64 total));
extern int64 ep_transfer(int64 debit, int64 credit, int64 amount, const EpOwner *owner);
extern bool ep_owned(const EpOwner *owner);

#endif							/* EP_LEDGER_H */
