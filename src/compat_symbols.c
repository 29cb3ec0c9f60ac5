/*-------------------------------------------------------------------------
 *
 * compat_symbols.c
 *	  C entry points that released install scripts name and the current
 *	  SQL no longer uses, kept as stubs that raise a clear error.
 *
 *	  Copyright (c) 2026, rowkeeper developers
 *
 *	  CREATE EXTENSION rowkeeper VERSION '0.1.0' (or '0.2.0') runs the
 *	  released scripts in src/sql/released/ against today's library, and an
 *	  installation stays at its old version between a package upgrade and
 *	  ALTER EXTENSION rowkeeper UPDATE.  CREATE FUNCTION ... LANGUAGE C
 *	  fails when the symbol it names is missing, and a symbol whose C
 *	  function now takes other arguments would read them as the wrong types.
 *	  So, as PostgreSQL's contrib modules do, an entry point is never
 *	  removed or changed in place: the current SQL binds a new name, and
 *	  the old one stays here, refusing with the way out.
 *
 *	  Entry points kept (released version: SQL function):
 *	  - audit_row_ref (0.2.0: rowkeeper.row_ref(text, text, jsonb); 0.3.0
 *	    binds row_ref(bigint, jsonb) to audit_row_ref_0_3 in audit.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(audit_row_ref);

/*
 * The error every stub raises: the SQL objects are older than the library.
 */
static void
rk_old_entry_point(const char *sql_function)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("function %s of an older rowkeeper version is not supported by this library",
					sql_function),
			 errdetail("The installed rowkeeper library is newer than the extension's SQL objects in this database."),
			 errhint("Run ALTER EXTENSION rowkeeper UPDATE.")));
}

/* 0.2.0: rowkeeper.row_ref(schema_name text, table_name text, row_key jsonb) */
Datum
audit_row_ref(PG_FUNCTION_ARGS)
{
	rk_old_entry_point("rowkeeper.row_ref(text, text, jsonb)");
	PG_RETURN_NULL();
}
