/*-------------------------------------------------------------------------
 *
 * checkpoint.h
 *	  Signed checkpoints of the journal: the root of the Merkle tree over
 *	  every transfer (merkle.h) signed with Ed25519 (signing.h), inclusion
 *	  proofs for an outside auditor, and their check by verify_ledger().
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_CHECKPOINT_H
#define EP_CHECKPOINT_H

#include "escrowpay.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/tuplestore.h"

/*
 * verify_ledger(): recompute every leaf, stored subtree and checkpoint
 * root from the journal, and check each checkpoint's signature; one
 * (problem, detail) row per mismatch.  Needs an SPI connection.
 */
extern void ep_verify_checkpoints(Tuplestorestate *ts, TupleDesc desc);

extern Datum escrow_checkpoint(PG_FUNCTION_ARGS);
extern Datum escrow_inclusion_proof(PG_FUNCTION_ARGS);
extern Datum escrow_checkpoint_public_key(PG_FUNCTION_ARGS);

#endif							/* EP_CHECKPOINT_H */
