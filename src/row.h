/*-------------------------------------------------------------------------
 *
 * row.h
 *	  Typed access to the rows of an SPI result by column name: the names
 *	  are looked up once per backend in the result's tuple descriptor,
 *	  and the rows are read from the tuple table they came in (kept, so
 *	  later statements do not change what is read).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EP_ROW_H
#define EP_ROW_H

#include "escrowpay.h"
#include "executor/spi.h"

#define EP_ROW_MAX_COLUMNS 32

/*
 * The columns a statement's result is read by; declared static next to
 * the statement's EpPlan, with the names in the order of an enum the
 * caller reads them by.
 */
typedef struct EpColumns
{
	int			n;
	const char *names[EP_ROW_MAX_COLUMNS];
	int			attno[EP_ROW_MAX_COLUMNS];	/* filled in at first use */
} EpColumns;

/* The rows of one result */
typedef struct EpRows
{
	SPITupleTable *tuptable;
	uint64		n;
	const EpColumns *cols;
} EpRows;

extern EpRows ep_rows(EpColumns *cols, uint64 n);
extern Datum ep_row_datum(const EpRows *rows, uint64 row, int col, bool *isnull);
extern bool ep_row_is_null(const EpRows *rows, uint64 row, int col);
extern char *ep_row_text(const EpRows *rows, uint64 row, int col);
extern int64 ep_row_int64(const EpRows *rows, uint64 row, int col);
extern int32 ep_row_int32(const EpRows *rows, uint64 row, int col);
extern bool ep_row_bool(const EpRows *rows, uint64 row, int col);

#endif							/* EP_ROW_H */
