/*-------------------------------------------------------------------------
 *
 * audit_key.c
 *	  rowkeeper.normalize_key(tbl regclass, key jsonb) returns jsonb: a row
 *	  key as the audit trigger logs it, for every function that looks rows
 *	  up in the log by key (row_history, row_as_of, diff, restore_row, ...).
 *
 *	  The log stores a key as rowjson.c writes the key columns (a bigint id
 *	  as a JSON number), and lookups compare jsonb values, so a key spelled
 *	  another way ('{"id": "1"}', as node-postgres, knex, Sequelize and
 *	  TypeORM hand bigint ids to applications) would silently find nothing
 *	  while the functions that read the live table (restore) accept it.
 *	  Here each value is read as its column's type (strings and numbers
 *	  through the type's input function, so the column's text form works
 *	  too) and written back by the same conversion the trigger uses.  The
 *	  key columns are those the trigger uses: the primary key, else the
 *	  replica identity index.  A key that misses one of them, names a
 *	  column that is not one of them, or holds NULL or a value the type
 *	  rejects is an error, never an empty answer.
 *
 *	  Invariant: for every row, normalize_key(tbl, logged row_key) equals
 *	  the logged row_key (the conversion is the trigger's).
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/sysattr.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/bitmapset.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/relcache.h"

#include "rowjson.h"

PG_FUNCTION_INFO_V1(audit_normalize_key);

/* For the error context of a value the column's type rejects. */
typedef struct KeyContext
{
	const char *column;
	const char *table;
} KeyContext;

static void
key_error_context(void *arg)
{
	KeyContext *kc = (KeyContext *) arg;

	errcontext("key column \"%s\" of table \"%s\"", kc->column, kc->table);
}

/* The key columns' names, comma-separated, for messages. */
static char *
key_column_list(TupleDesc desc, Bitmapset *keys)
{
	StringInfoData buf;
	int			x = -1;

	initStringInfo(&buf);
	while ((x = bms_next_member(keys, x)) >= 0)
	{
		AttrNumber	attnum = x + FirstLowInvalidHeapAttributeNumber;

		if (attnum <= 0)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, quote_identifier(NameStr(TupleDescAttr(desc, attnum - 1)->attname)));
	}
	return buf.data;
}

/* The text a key value stands for, to be read by the column's input function. */
static char *
key_value_text(JsonbValue *v, Oid basetype, const char *column,
			   const char *table)
{
	switch (v->type)
	{
		case jbvString:
			return pnstrdup(v->val.string.val, v->val.string.len);
		case jbvNumeric:
			{
				Datum		n = NumericGetDatum(v->val.numeric);

				/*
				 * 1.0 for an integer column: the value, without the scale
				 * its input function would refuse (1.5 still fails there)
				 */
				if ((basetype == INT2OID || basetype == INT4OID || basetype == INT8OID) &&
					!numeric_is_nan(v->val.numeric) && !numeric_is_inf(v->val.numeric))
				{
					Datum		t = DirectFunctionCall2(numeric_trunc, n, Int32GetDatum(0));

					if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, n, t)) == 0)
						n = t;
				}
				return DatumGetCString(DirectFunctionCall1(numeric_out, n));
			}
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvBinary:
			if (basetype == JSONBOID || basetype == JSONOID)
				return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
			break;
		case jbvNull:
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("key column \"%s\" of table \"%s\" is null in the key",
							column, table),
					 errdetail("Key columns are never NULL, so no row has this key."),
					 errhint("Pass the row's key value.")));
			break;
		default:
			break;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("key column \"%s\" of table \"%s\" is given as a JSON object or array",
					column, table),
			 errdetail("Only a json or jsonb key column takes a JSON object or array."),
			 errhint("Pass the value as a string, a number or a boolean.")));
	return NULL;				/* keep the compiler quiet */
}

Datum
audit_normalize_key(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Jsonb	   *key = PG_GETARG_JSONB_P(1);
	Relation	rel;
	TupleDesc	desc;
	Bitmapset  *keys;
	const char *table;
	RkJsonPair *pairs;
	int			npairs = 0;
	int			x = -1;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	Jsonb	   *result;

	rel = relation_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	table = RelationGetRelationName(rel);
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", table),
				 errdetail("Rows are looked up by the key of a table."),
				 errhint("Pass the table (for a soft-delete view, its table).")));
	if (!JB_ROOT_IS_OBJECT(key) || JB_ROOT_IS_SCALAR(key))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a row key must be a JSON object"),
				 errdetail("The key of table \"%s\" is an object of its key columns.", table),
				 errhint("For example: '{\"id\": 42}'.")));

	keys = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	if (bms_is_empty(keys))
		keys = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_IDENTITY_KEY);
	if (bms_is_empty(keys))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table \"%s\" has no primary key or replica identity index", table),
				 errdetail("The audit trail identifies rows by key."),
				 errhint("Add a primary key, or ALTER TABLE ... REPLICA IDENTITY USING INDEX with a unique index.")));

	/* every field of the key names a key column */
	it = JsonbIteratorInit(&key->root);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *name;
		int			attnum;

		if (tok != WJB_KEY)
			continue;
		name = pnstrdup(v.val.string.val, v.val.string.len);
		attnum = SPI_fnumber(desc, name);
		if (attnum <= 0 ||
			!bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, keys))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\" is not a key column of table \"%s\"", name, table),
					 errdetail("The key of table \"%s\" is (%s).", table,
							   key_column_list(desc, keys)),
					 errhint("Pass exactly the key columns, e.g. '{\"id\": 42}'.")));
	}

	/* each key column, read as its type and converted as the trigger does */
	pairs = palloc(sizeof(RkJsonPair) * bms_num_members(keys));
	while ((x = bms_next_member(keys, x)) >= 0)
	{
		AttrNumber	attnum = x + FirstLowInvalidHeapAttributeNumber;
		Form_pg_attribute att;
		const char *name;
		JsonbValue *given;
		RkJsonColumn col;
		Oid			infunc;
		Oid			ioparam;
		Datum		value;
		KeyContext	kc;
		ErrorContextCallback errcb;
		char	   *str;

		if (attnum <= 0)
			continue;
		att = TupleDescAttr(desc, attnum - 1);
		name = NameStr(att->attname);
		given = getKeyJsonValueFromContainer(&key->root, name, strlen(name), NULL);
		if (given == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the key misses key column \"%s\" of table \"%s\"", name, table),
					 errdetail("The key of table \"%s\" is (%s).", table,
							   key_column_list(desc, keys)),
					 errhint("Pass every key column.")));

		str = key_value_text(given, getBaseType(att->atttypid), name, table);
		kc.column = name;
		kc.table = table;
		errcb.callback = key_error_context;
		errcb.arg = &kc;
		errcb.previous = error_context_stack;
		error_context_stack = &errcb;
		getTypeInputInfo(att->atttypid, &infunc, &ioparam);
		value = OidInputFunctionCall(infunc, str, ioparam, att->atttypmod);
		error_context_stack = errcb.previous;

		rk_json_column_init(&col, att->atttypid, CurrentMemoryContext);
		pairs[npairs].key = name;
		pairs[npairs].keylen = strlen(name);
		rk_json_value(&col, value, false, &pairs[npairs].value);
		npairs++;
	}

	/* jsonb's key order (insertion sort: keys have a handful of columns) */
	for (int i = 1; i < npairs; i++)
	{
		RkJsonPair	p = pairs[i];
		int			j = i - 1;

		while (j >= 0 && rk_json_key_cmp(pairs[j].key, pairs[j].keylen,
										 p.key, p.keylen) > 0)
		{
			pairs[j + 1] = pairs[j];
			j--;
		}
		pairs[j + 1] = p;
	}
	result = rk_json_object(pairs, npairs);
	relation_close(rel, AccessShareLock);
	PG_RETURN_JSONB_P(result);
}
