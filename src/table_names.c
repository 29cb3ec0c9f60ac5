/*-------------------------------------------------------------------------
 *
 * table_names.c
 *	  Table names given as text to the enable_* / disable_* functions.
 *
 *	  Those functions take the table as regclass.  A string literal
 *	  ('Users') is read by regclass's input function as an SQL identifier:
 *	  unquoted, it is folded to lower case, and a table created by an ORM
 *	  as "Users" is then reported as `relation "users" does not exist`
 *	  before rowkeeper's function runs, with nothing saying why.
 *
 *	  Each of those functions therefore has a text overload (declared in
 *	  src/sql/55_table_names.sql) that PostgreSQL prefers for a string
 *	  literal or an untyped parameter.  It is this one C function: it
 *	  resolves the name exactly as regclass does and calls the regclass
 *	  overload of the same name with the same arguments.  When the name
 *	  does not resolve but a table matches it case-insensitively, the error
 *	  names the quoted form to pass ('"Users"').  Being C, it adds no
 *	  CONTEXT line of its own: errors of the regclass function read as
 *	  before.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "names.h"

PG_FUNCTION_INFO_V1(rowkeeper_by_table_name);

/*
 * The table of that name, or the quoted form of a table that matches it
 * only case-insensitively (NULL if none), found with SPI: a cold path.
 */
static char *
case_insensitive_match(RangeVar *rv)
{
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};
	char	   *found = NULL;

	values[0] = CStringGetTextDatum(rv->relname);
	if (rv->schemaname)
		values[1] = CStringGetTextDatum(rv->schemaname);
	else
		nulls[1] = 'n';

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the first in search_path order; schema-qualified as given */
	if (SPI_execute_with_args(
							  "SELECT CASE WHEN $2 IS NULL THEN '' "
							  "            ELSE pg_catalog.quote_ident(n.nspname) || '.' END "
							  "       || pg_catalog.quote_ident(c.relname) "
							  "  FROM pg_catalog.pg_class c "
							  "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
							  " WHERE pg_catalog.lower(c.relname) = pg_catalog.lower($1) "
							  "   AND c.relkind OPERATOR(pg_catalog.=) ANY ('{r,p,v,m,f}'::pg_catalog.\"char\"[]) "
							  "   AND CASE WHEN $2 IS NULL "
							  "            THEN n.nspname OPERATOR(pg_catalog.=) ANY (pg_catalog.current_schemas(true)) "
							  "            ELSE pg_catalog.lower(n.nspname) = pg_catalog.lower($2) END "
							  " ORDER BY pg_catalog.array_position(pg_catalog.current_schemas(true), n.nspname), 1 "
							  " LIMIT 1",
							  2, argtypes, values, nulls, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed");
	if (SPI_processed == 1)
	{
		char	   *v = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (v)
		{
			found = SPI_palloc(strlen(v) + 1);
			strcpy(found, v);
		}
	}
	SPI_finish();
	return found;
}

/* The table named by text, resolved as regclass input would, or ERROR. */
static Oid
table_by_name(text *name, const char *caller)
{
	List	   *names = textToQualifiedNameList(name);
	RangeVar   *rv = makeRangeVarFromNameList(names);
	Oid			relid = RangeVarGetRelid(rv, NoLock, true);
	char	   *given;
	char	   *near;

	if (OidIsValid(relid))
		return relid;

	given = rv->schemaname ? psprintf("%s.%s", rv->schemaname, rv->relname) : rv->relname;
	near = case_insensitive_match(rv);
	if (near)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s\" does not exist", given),
				 errdetail("%s reads the table name as an SQL identifier, which is folded to lower case unless quoted; the table %s differs only in case.",
						   caller, near),
				 errhint("Quote the name inside the string: %s.", quote_literal_cstr(near))));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("relation \"%s\" does not exist", given),
			 rv->schemaname ?
			 errdetail("%s found no table of that name in schema \"%s\".", caller, rv->schemaname) :
			 errdetail("%s found no table of that name in the search_path.", caller),
			 errhint("Check the name, or qualify it with its schema ('schema.table').")));
	return InvalidOid;			/* not reached */
}

/*
 * The text overload of an enable_* / disable_* function: the same call,
 * with the table resolved to regclass.
 */
Datum
rowkeeper_by_table_name(PG_FUNCTION_ARGS)
{
	FmgrInfo   *target = (FmgrInfo *) fcinfo->flinfo->fn_extra;
	LOCAL_FCINFO(inner, FUNC_MAX_ARGS);
	Datum		result;
	int			i;

	if (target == NULL)
	{
		HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
		Form_pg_proc proc;
		Oid			argtypes[FUNC_MAX_ARGS];
		Oid			targetoid;

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
		proc = (Form_pg_proc) GETSTRUCT(tup);
		if (proc->pronargs < 1 || proc->proargtypes.values[0] != TEXTOID)
			elog(ERROR, "rowkeeper_by_table_name: function %u does not take the table as text first",
				 fcinfo->flinfo->fn_oid);
		memcpy(argtypes, proc->proargtypes.values, proc->pronargs * sizeof(Oid));
		argtypes[0] = REGCLASSOID;
		targetoid = LookupFuncName(list_make2(makeString(get_namespace_name(proc->pronamespace)),
											  makeString(pstrdup(NameStr(proc->proname)))),
								   proc->pronargs, argtypes, false);
		ReleaseSysCache(tup);

		target = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(FmgrInfo));
		fmgr_info_cxt(targetoid, target, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = target;
	}

	InitFunctionCallInfoData(*inner, target, PG_NARGS(), fcinfo->fncollation,
							 fcinfo->context, fcinfo->resultinfo);
	for (i = 0; i < PG_NARGS(); i++)
		inner->args[i] = fcinfo->args[i];
	if (!PG_ARGISNULL(0))
	{
		char	   *caller = psprintf("%s.%s()", RK_SCHEMA, get_func_name(target->fn_oid));

		inner->args[0].value = ObjectIdGetDatum(table_by_name(PG_GETARG_TEXT_PP(0), caller));
	}
	if (target->fn_strict)
	{
		for (i = 0; i < PG_NARGS(); i++)
			if (inner->args[i].isnull)
				PG_RETURN_NULL();
	}
	result = FunctionCallInvoke(inner);
	fcinfo->isnull = inner->isnull;
	return result;
}
