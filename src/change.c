/*-------------------------------------------------------------------------
 *
 * change.c
 *	  Change-making for cash terminals: pay `change` with the
 *	  fewest pieces from what the terminal actually holds.  Greedy fails
 *	  for some denomination sets and inventories (owing 6 with {4, 3, 1}
 *	  and no 1s left: greedy takes 4 and is stuck, 3+3 works), so this is a
 *	  bounded knapsack: each denomination's count is split into binary
 *	  bundles (1, 2, 4, ... pieces), a 0/1 dynamic programme over the
 *	  amount finds the fewest pieces, and a per-bundle bitmap
 *	  reconstructs the choice.  Work and memory are O(change x bundles);
 *	  change is capped at EP_MAX_CHANGE minor units.
 *
 *	  escrow.make_change() exposes it for testing and for applications
 *	  that want to ask before taking cash.
 *
 *-------------------------------------------------------------------------
 */
#include "change.h"
#include "limits.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(escrow_make_change);

typedef struct Bundle
{
	int			denom;			/* index into denominations */
	int64		value;			/* pieces x denomination */
	int32		pieces;
} Bundle;

/*
 * Fill use[i] (pieces of denominations[i]) so that they sum to change with
 * the fewest pieces, within available[i].  false when no exact change
 * exists.  Denominations must be positive.
 */
bool
ep_make_change(int64 change, int n, const int64 *denominations,
			   const int32 *available, int32 *use)
{
	Bundle	   *bundles;
	int			nb = 0;
	int32	   *best;
	uint8	   *took;
	size_t		width;
	int64		v;
	int			i;
	int			b;

	memset(use, 0, sizeof(int32) * n);
	if (change == 0)
		return true;
	if (change < 0 || change > EP_MAX_CHANGE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("change of %lld is outside 0..%d minor units",
						(long long) change, EP_MAX_CHANGE)));

	bundles = palloc(sizeof(Bundle) * n * 32);
	for (i = 0; i < n; i++)
	{
		int32		left;
		int32		k = 1;

		if (denominations[i] > change)
			continue;
		/* more pieces than change / denomination can never be used */
		left = (int32) Min((int64) available[i], change / denominations[i]);
		while (left > 0)
		{
			int32		take = Min(k, left);

			if (denominations[i] * take <= change)
			{
				bundles[nb].denom = i;
				bundles[nb].value = denominations[i] * take;
				bundles[nb].pieces = take;
				nb++;
			}
			left -= take;
			k *= 2;
		}
	}

	best = palloc(sizeof(int32) * (change + 1));
	for (v = 1; v <= change; v++)
		best[v] = PG_INT32_MAX;
	best[0] = 0;
	width = (change + 8) / 8;
	took = palloc0(width * Max(nb, 1));

	for (b = 0; b < nb; b++)
	{
		CHECK_FOR_INTERRUPTS();
		for (v = change; v >= bundles[b].value; v--)
		{
			int32		prev = best[v - bundles[b].value];

			if (prev != PG_INT32_MAX && prev + bundles[b].pieces < best[v])
			{
				best[v] = prev + bundles[b].pieces;
				took[b * width + v / 8] |= 1 << (v % 8);
			}
		}
	}
	if (best[change] == PG_INT32_MAX)
		return false;

	v = change;
	for (b = nb - 1; b >= 0 && v > 0; b--)
	{
		if (took[b * width + v / 8] & (1 << (v % 8)))
		{
			use[bundles[b].denom] += bundles[b].pieces;
			v -= bundles[b].value;
		}
	}
	Assert(v == 0);
	return true;
}

/*
 * escrow.make_change(amount bigint, denominations bigint[], counts integer[])
 *	 RETURNS integer[]
 *
 * How many of each denomination pay amount with the fewest pieces from
 * the given counts; NULL when exact change is impossible.
 */
Datum
escrow_make_change(PG_FUNCTION_ARGS)
{
	EP_CHECK_ARGS;
	ArrayType  *da = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType  *ca = PG_GETARG_ARRAYTYPE_P(2);
	int64		amount = PG_GETARG_INT64(0);
	Datum	   *dv,
			   *cv;
	bool	   *dn,
			   *cn;
	int			n,
				m,
				i;
	int64	   *denoms;
	int32	   *counts;
	int32	   *use;
	Datum	   *out;

	deconstruct_array(da, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &dv, &dn, &n);
	deconstruct_array(ca, INT4OID, 4, true, TYPALIGN_INT, &cv, &cn, &m);
	if (n != m || n == 0 || n > EP_MAX_DENOMINATIONS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("denominations and counts must have the same 1 to %d elements",
						EP_MAX_DENOMINATIONS)));
	denoms = palloc(sizeof(int64) * n);
	counts = palloc(sizeof(int32) * n);
	use = palloc(sizeof(int32) * n);
	for (i = 0; i < n; i++)
	{
		if (dn[i] || cn[i] || DatumGetInt64(dv[i]) <= 0 || DatumGetInt32(cv[i]) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("denominations must be positive and counts zero or more"),
					 errdetail("Element %d.", i + 1)));
		denoms[i] = DatumGetInt64(dv[i]);
		counts[i] = DatumGetInt32(cv[i]);
	}
	if (!ep_make_change(amount, n, denoms, counts, use))
		PG_RETURN_NULL();
	out = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
		out[i] = Int32GetDatum(use[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, n, INT4OID, 4, true, TYPALIGN_INT));
}
