/*-------------------------------------------------------------------------
 *
 * catalog_util.c
 *	  Small SQL-callable helpers that the extension's own SQL uses to read
 *	  configuration back out of the catalogs (principle: a table's settings
 *	  are its triggers and policies, not rows in a side table).
 *
 *	  rowkeeper._trigger_args(bytea) decodes pg_trigger.tgargs, a sequence
 *	  of NUL-terminated strings that plain SQL cannot split reliably.  The
 *	  rk_option_* helpers read the same key=value arguments from C, for the
 *	  triggers of every capability.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(_trigger_args);
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
