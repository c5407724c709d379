/*-------------------------------------------------------------------------
 *
 * payload.h
 *	  SQL argument readers, JSON payloads, fees: below the deal models.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_PAYLOAD_H
#define EP_PAYLOAD_H

#include "escrowpay.h"
#include "fmgr.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"

extern char *ep_arg_text(FunctionCallInfo fcinfo, int argno, const char *what);
extern char *ep_arg_opt_text(FunctionCallInfo fcinfo, int argno);
extern Interval *ep_arg_interval(FunctionCallInfo fcinfo, int argno, const char *what);

extern void ep_json_begin(StringInfo s);
extern void ep_json_int(StringInfo s, const char *key, int64 v);
extern void ep_json_str(StringInfo s, const char *key, const char *v);
extern char *ep_json_end(StringInfo s);

extern int64 ep_fee_of(int64 amount, int32 bps);

#endif							/* EP_PAYLOAD_H */
