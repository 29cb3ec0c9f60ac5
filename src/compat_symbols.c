/*-------------------------------------------------------------------------
 *
 * compat_symbols.c
 *	  C entry points that released install scripts name and the current
 *	  SQL no longer binds, kept working for the SQL that names them.
 *
 *	  Copyright (c) 2026, rowkeeper developers
 *
 *	  CREATE EXTENSION rowkeeper VERSION '0.1.0' (or '0.2.0') runs the
 *	  released scripts in src/sql/released/ against today's library, and so
 *	  does every ALTER EXTENSION UPDATE through them; and an installation
 *	  stays at its old version between a package upgrade and ALTER
 *	  EXTENSION rowkeeper UPDATE.  CREATE FUNCTION ... LANGUAGE C fails
 *	  when the symbol it names is missing, and a symbol whose C function
 *	  now takes other arguments would read them as the wrong types.  So, as
 *	  PostgreSQL's contrib modules do, an entry point a released script
 *	  names is never removed or changed in place: the current SQL binds a
 *	  new name, and the old one stays here.  An old entry point that the
 *	  released scripts themselves call keeps its old behaviour; one they
 *	  only declare becomes a stub that raises an error whose hint is
 *	  ALTER EXTENSION rowkeeper UPDATE.
 *
 *	  Entry points kept (released version: SQL function; what it does now):
 *	  - audit_row_ref (0.1.0--0.2.0: rowkeeper.row_ref(text, text, jsonb),
 *	    which the 0.1.0 -> 0.2.0 script calls to fill row_ref): 0.2.0's
 *	    formula, from the schema and table names.  0.3.0's
 *	    row_ref(bigint, jsonb) is audit_row_ref_0_3 in audit.c; the
 *	    0.2.0 -> 0.3.0 upgrade recomputes every row_ref with it.  The v1
 *	    digest of audit_chain.c uses the old formula too (rk_row_ref_0_2).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "utils/jsonb.h"

#include "audit_log.h"

PG_FUNCTION_INFO_V1(audit_row_ref);

/*
 * row_ref as 0.2.0 computed it: the high 32 bits fold a hash of the schema
 * and table names (as bytes), the low 32 bits are the key's, as in 0.3.0.
 * Also the row_ref of the entries that v1 batches (sealed by 0.2.0) cover
 * (audit_chain.c), since the upgrade recomputes the column.
 */
int64
rk_row_ref_0_2(text *schema_name, text *table_name, Jsonb *row_key)
{
	uint64		names;
	uint32		tbits;

	names = hash_combine64(hash_bytes_extended((const unsigned char *) VARDATA_ANY(schema_name),
											   VARSIZE_ANY_EXHDR(schema_name), 0),
						   hash_bytes_extended((const unsigned char *) VARDATA_ANY(table_name),
											   VARSIZE_ANY_EXHDR(table_name), 0));
	tbits = (uint32) (names ^ (names >> 32));
	return (int64) (((uint64) tbits << 32) | rk_audit_key_bits(row_key));
}

/* 0.2.0: rowkeeper.row_ref(schema_name text, table_name text, row_key jsonb) */
Datum
audit_row_ref(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(rk_row_ref_0_2(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1),
								   PG_GETARG_JSONB_P(2)));
}
