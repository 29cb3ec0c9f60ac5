/*-------------------------------------------------------------------------
 *
 * catalog_util.c
 *	  Small SQL-callable helpers that the extension's own SQL uses to read
 *	  configuration back out of the catalogs (principle: a table's settings
 *	  are its triggers and policies, not rows in a side table).
 *
 *	  rowkeeper._trigger_args(bytea) decodes pg_trigger.tgargs, a sequence
 *	  of NUL-terminated strings that plain SQL cannot split reliably.
 *
 *	  Trigger options (the key=value arguments every enable_* function
 *	  writes: exclude=, redact=, skip_noop=, clock=, by=, batch=,
 *	  time_zone=, ...) have one parser, rk_option_value() below.  The
 *	  triggers of every capability read their options through it, and the
 *	  extension's SQL (the listing views, _soft_delete_config) reads them
 *	  through rowkeeper._trigger_option() and _trigger_option_list(), which
 *	  call it too: SQL never splits an option itself.
 *
 *	  rk_schema_oid(), rk_own_relid() and rk_own_name() find rowkeeper's own
 *	  objects (schema rowkeeper, its tables and sequences, its functions)
 *	  for every C file, by the names in names.h.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "names.h"
#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(_trigger_args);
PG_FUNCTION_INFO_V1(_trigger_option);
PG_FUNCTION_INFO_V1(_trigger_option_list);
PG_FUNCTION_INFO_V1(_count_not_null);

/*
 * rowkeeper._trigger_args(tgargs bytea) returns text[]
 *
 * Splits a pg_trigger.tgargs value into its arguments.  Every argument is
 * terminated by a NUL byte; a value without a final NUL is not something
 * the catalog produces, and is rejected rather than guessed at.
 */
Datum
_trigger_args(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(raw);
	const char *end = p + VARSIZE_ANY_EXHDR(raw);
	ArrayBuildState *astate = NULL;

	while (p < end)
	{
		const char *nul = memchr(p, '\0', end - p);

		if (nul == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed trigger argument list"),
					 errdetail("The last argument is not terminated by a zero byte.")));
		astate = accumArrayResult(astate,
								  PointerGetDatum(cstring_to_text_with_len(p, nul - p)),
								  false, TEXTOID, CurrentMemoryContext);
		p = nul + 1;
	}

	if (astate == NULL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	PG_RETURN_DATUM(makeArrayResult(astate, CurrentMemoryContext));
}

/*
 * The OID of schema rowkeeper; InvalidOid when it does not exist and
 * missing_ok (the extension is not installed in this database).
 */
Oid
rk_schema_oid(bool missing_ok)
{
	return get_namespace_oid(RK_SCHEMA, missing_ok);
}

/*
 * The OID of relation rowkeeper.<relname> (a table or sequence of the
 * extension's own); InvalidOid when missing_ok and it or the schema does
 * not exist, else the error that the extension is damaged.
 */
Oid
rk_own_relid(const char *relname, bool missing_ok)
{
	Oid			nsp = rk_schema_oid(missing_ok);
	Oid			relid = OidIsValid(nsp) ? get_relname_relid(relname, nsp) : InvalidOid;

	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", RK_SCHEMA, relname),
				 errhint("Reinstall the rowkeeper extension.")));
	return relid;
}

/* The qualified name rowkeeper.<name>, for LookupFuncName() and friends. */
List *
rk_own_name(const char *name)
{
	return list_make2(makeString(RK_SCHEMA), makeString(pstrdup(name)));
}

/*
 * Is tgname the trigger rowkeeper names "name": that name, or its copy on
 * a Citus shard, which Citus names <name>_<shard id>?
 */
bool
rk_trigger_is(const char *tgname, const char *name)
{
	size_t		len = strlen(name);
	const char *p;

	if (strncmp(tgname, name, len) != 0)
		return false;
	if (tgname[len] == '\0')
		return true;
	if (tgname[len] != '_' || tgname[len + 1] == '\0')
		return false;
	for (p = tgname + len + 1; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/*
 * Report a trigger argument that its enable_* function would not have
 * written (a trigger created by hand, or edited).
 */
void
rk_bad_trigger_argument(const RkTriggerArgs *ta, const char *arg)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid argument \"%s\" to trigger \"%s\" on table \"%s\"",
					arg, ta->trigger->tgname, RelationGetRelationName(ta->rel)),
			 errdetail("%s", ta->usage),
			 errhint("Create the trigger with %s instead of CREATE TRIGGER.",
					 ta->enable_fn)));
}

/* The value of arg when it reads key=value, else NULL. */
const char *
rk_option_value(const char *arg, const char *key)
{
	size_t		keylen = strlen(key);

	if (strncmp(arg, key, keylen) == 0 && arg[keylen] == '=')
		return arg + keylen + 1;
	return NULL;
}

/*
 * The values of the key=value arguments among args (a text[] as
 * rowkeeper._trigger_args() returns), in argument order, as text Datums;
 * *n is set to their number.  NULL elements are skipped.
 */
static Datum *
option_values(ArrayType *args, const char *key, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	Datum	   *values;
	int			i;

	deconstruct_array(args, TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	values = palloc(sizeof(Datum) * Max(nelems, 1));
	*n = 0;
	for (i = 0; i < nelems; i++)
	{
		const char *value;

		if (nulls[i])
			continue;
		value = rk_option_value(TextDatumGetCString(elems[i]), key);
		if (value != NULL)
			values[(*n)++] = CStringGetTextDatum(value);
	}
	return values;
}

/*
 * rowkeeper._trigger_option(args text[], key text) returns text
 *
 * The value of option key among a trigger's arguments, as the triggers
 * read it (the last key=value argument wins), or NULL when it is absent.
 */
Datum
_trigger_option(PG_FUNCTION_ARGS)
{
	int			n;
	Datum	   *values = option_values(PG_GETARG_ARRAYTYPE_P(0),
									   text_to_cstring(PG_GETARG_TEXT_PP(1)), &n);

	if (n == 0)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(values[n - 1]);
}

/*
 * rowkeeper._trigger_option_list(args text[], key text) returns text[]
 *
 * The values of a repeatable option (exclude=, redact=) among a trigger's
 * arguments, in argument order; empty when there are none.
 */
Datum
_trigger_option_list(PG_FUNCTION_ARGS)
{
	int			n;
	Datum	   *values = option_values(PG_GETARG_ARRAYTYPE_P(0),
									   text_to_cstring(PG_GETARG_TEXT_PP(1)), &n);

	PG_RETURN_ARRAYTYPE_P(construct_array(values, n, TEXTOID, -1, false,
										  TYPALIGN_INT));
}

/* A boolean option value, or the error for a malformed argument. */
bool
rk_option_bool(const RkTriggerArgs *ta, const char *arg, const char *value)
{
	bool		result;

	if (!parse_bool(value, &result))
		rk_bad_trigger_argument(ta, arg);
	return result;
}

/*
 * rowkeeper._count_not_null(tbl regclass, column_name name) returns bigint
 *
 * The number of rows of tbl (its partitions and inheritance children
 * included) whose column_name is not NULL, as the statement's snapshot sees
 * them, regardless of row-level security: see the file header.  Owner only
 * (or a member of the owning role, or a superuser): the owner can read every
 * row anyway (ALTER TABLE ... NO FORCE ROW LEVEL SECURITY), nobody else
 * learns anything.
 */
Datum
_count_not_null(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	const char *colname = NameStr(*PG_GETARG_NAME(1));
	Relation	rel;
	List	   *rels;
	ListCell   *lc;
	int64		count = 0;

	rel = table_open(relid, AccessShareLock);
	if (!has_privs_of_role(GetUserId(), rel->rd_rel->relowner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", RelationGetRelationName(rel)),
				 errdetail("rowkeeper._count_not_null() counts rows that row-level security may hide from the caller."),
				 errhint("Call the rowkeeper function that needs it as the table's owner.")));
	table_close(rel, NoLock);

	rels = find_all_inheritors(relid, AccessShareLock, NULL);
	foreach(lc, rels)
	{
		Oid			childid = lfirst_oid(lc);
		Relation	child = table_open(childid, NoLock);
		AttrNumber	attnum;
		TableScanDesc scan;
		TupleTableSlot *slot;

		if (!RELKIND_HAS_STORAGE(child->rd_rel->relkind))
		{
			if (child->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
				ereport(ERROR,
						(errcode(ERRCODE_WRONG_OBJECT_TYPE),
						 errmsg("cannot count the rows of \"%s\"",
								RelationGetRelationName(child)),
						 errdetail("It is a %s under table \"%s\"; only tables can be counted regardless of row-level security.",
								   child->rd_rel->relkind == RELKIND_FOREIGN_TABLE ? "foreign table" : "relation",
								   get_rel_name(relid)),
						 errhint("Check its rows yourself, then pass force => true.")));
			table_close(child, NoLock);
			continue;
		}
		attnum = get_attnum(childid, colname);
		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							colname, RelationGetRelationName(child))));

		scan = table_beginscan(child, GetActiveSnapshot(), 0, NULL);
		slot = table_slot_create(child, NULL);
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			CHECK_FOR_INTERRUPTS();
			if (!slot_attisnull(slot, attnum))
				count++;
		}
		ExecDropSingleTupleTableSlot(slot);
		table_endscan(scan);
		table_close(child, NoLock);
	}
	PG_RETURN_INT64(count);
}
