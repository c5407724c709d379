/*-------------------------------------------------------------------------
 *
 * idempotency.h
 *	  Idempotency keys for money-moving calls.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_IDEMPOTENCY_H
#define EP_IDEMPOTENCY_H

#include "escrowpay.h"
#include "fmgr.h"

extern bool ep_idem_claim(const char *key, const char *request,
						  bool has_result, int64 result, int64 *prior);
extern bool ep_idem_replay(const char *key, const char *request, int64 *prior);
extern void ep_idem_record(const char *key, int64 result);
extern bool ep_idem_claim_batch(const char *key, const char *request, Datum *prior);
extern void ep_idem_record_batch(const char *key, Datum results);
extern char *ep_request_text(const char *s);
extern char *ep_idem_request(FunctionCallInfo fcinfo, const char *name, const char *spec);
extern bool ep_idem_claim_call(FunctionCallInfo fcinfo, const char *key, const char *name,
							   const char *spec, int64 result, int64 *prior);

#endif							/* EP_IDEMPOTENCY_H */
