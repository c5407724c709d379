/*-------------------------------------------------------------------------
 *
 * row.c
 *	  Typed access to the rows of an SPI result by column name.
 *
 *	  ep_rows() takes the result of the statement just run (SPI_tuptable)
 *	  and, the first time, looks each column name of cols up in its tuple
 *	  descriptor (an internal error names a column the statement does not
 *	  return, so a drift between a statement and its reader fails at once
 *	  and always).  The accessors then read by the caller's column index
 *	  from that tuple table, whatever runs in between: SPI keeps every
 *	  tuple table until SPI_finish().
 *
 *-------------------------------------------------------------------------
 */
#include "row.h"

#include "utils/builtins.h"

/* The result of the statement just run, read by the names of cols */
EpRows
ep_rows(EpColumns *cols, uint64 n)
{
	EpRows		rows;
	int			i;

	if (SPI_tuptable == NULL)
		elog(ERROR, "escrowpay: no result to read by column name");
	if (cols->attno[0] == 0)
	{
		for (i = 0; i < cols->n; i++)
		{
			int			attno = SPI_fnumber(SPI_tuptable->tupdesc, cols->names[i]);

			if (attno <= 0)
				elog(ERROR, "escrowpay: the statement returns no column \"%s\"",
					 cols->names[i]);
			cols->attno[i] = attno;
		}
	}
	rows.tuptable = SPI_tuptable;
	rows.n = n;
	rows.cols = cols;
	return rows;
}

Datum
ep_row_datum(const EpRows *rows, uint64 row, int col, bool *isnull)
{
	Assert(row < rows->n && col < rows->cols->n);
	return SPI_getbinval(rows->tuptable->vals[row], rows->tuptable->tupdesc,
						 rows->cols->attno[col], isnull);
}

bool
ep_row_is_null(const EpRows *rows, uint64 row, int col)
{
	bool		isnull;

	(void) ep_row_datum(rows, row, col, &isnull);
	return isnull;
}

/* A column as text (its output function), or NULL */
char *
ep_row_text(const EpRows *rows, uint64 row, int col)
{
	return SPI_getvalue(rows->tuptable->vals[row], rows->tuptable->tupdesc,
						rows->cols->attno[col]);
}

/* A bigint column; 0 when NULL (an unset reference: hold, transfer, ...) */
int64
ep_row_int64(const EpRows *rows, uint64 row, int col)
{
	bool		isnull;
	Datum		d = ep_row_datum(rows, row, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/* An integer column; 0 when NULL */
int32
ep_row_int32(const EpRows *rows, uint64 row, int col)
{
	bool		isnull;
	Datum		d = ep_row_datum(rows, row, col, &isnull);

	return isnull ? 0 : DatumGetInt32(d);
}

/* A boolean column; false when NULL */
bool
ep_row_bool(const EpRows *rows, uint64 row, int col)
{
	bool		isnull;
	Datum		d = ep_row_datum(rows, row, col, &isnull);

	return isnull ? false : DatumGetBool(d);
}
