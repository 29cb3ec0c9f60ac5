/*-------------------------------------------------------------------------
 *
 * rowjson.c
 *	  Column values to typed jsonb, for the audit trail's row images.
 *
 *	  Numbers stay JSON numbers (int, float, numeric; NaN and infinities,
 *	  which JSON cannot express, become strings as to_jsonb() does),
 *	  booleans stay booleans, json and jsonb values are nested as objects,
 *	  dates and timestamps are ISO 8601 strings whatever DateStyle says, and
 *	  every other type is the string its output function writes, which its
 *	  input function reads back (arrays, composites, enums, bytea, ...).
 *
 *	  The caller resolves an RkJsonColumn per column once (type lookups,
 *	  output function) and then pushes values into a JsonbParseState; the
 *	  caller owns object begin/end and the keys.  Key order does not matter:
 *	  jsonb sorts object keys, which makes images canonical.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"

#include "rowjson.h"

/*
 * Decide how values of type typid are converted.  Domains convert as their
 * base type.
 */
void
rk_json_column_init(RkJsonColumn *col, Oid typid, MemoryContext mcxt)
{
	Oid			base = getBaseType(typid);

	col->typid = base;
	switch (base)
	{
		case BOOLOID:
			col->kind = RKJ_BOOL;
			break;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			col->kind = RKJ_INT;
			break;
		case FLOAT4OID:
		case FLOAT8OID:
			col->kind = RKJ_FLOAT;
			break;
		case NUMERICOID:
			col->kind = RKJ_NUMERIC;
			break;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			col->kind = RKJ_TEXT;
			break;
		case JSONBOID:
			col->kind = RKJ_JSONB;
			break;
		case JSONOID:
			col->kind = RKJ_JSON;
			break;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			col->kind = RKJ_DATETIME;
			break;
		default:
			{
				Oid			outfunc;
				bool		isvarlena;

				col->kind = RKJ_OTHER;
				getTypeOutputInfo(typid, &outfunc, &isvarlena);
				fmgr_info_cxt(outfunc, &col->output, mcxt);
			}
			break;
	}
}

void
rk_json_push_key(JsonbParseState **state, const char *key)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) key;
	v.val.string.len = strlen(key);
	pushJsonbValue(state, WJB_KEY, &v);
}

void
rk_json_push_string(JsonbParseState **state, const char *str)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) str;
	v.val.string.len = strlen(str);
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* A numeric as a JSON number, or as a string when JSON cannot say it. */
static void
push_numeric(JsonbParseState **state, Numeric num)
{
	JsonbValue	v;

	if (numeric_is_nan(num) || numeric_is_inf(num))
	{
		rk_json_push_string(state,
							DatumGetCString(DirectFunctionCall1(numeric_out,
																NumericGetDatum(num))));
		return;
	}
	v.type = jbvNumeric;
	v.val.numeric = num;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/* A jsonb value nested in place (objects, arrays and scalars alike). */
static void
push_jsonb(JsonbParseState **state, Jsonb *jb)
{
	JsonbValue	v;

	v.type = jbvBinary;
	v.val.binary.data = &jb->root;
	v.val.binary.len = VARSIZE(jb) - VARHDRSZ;
	pushJsonbValue(state, WJB_VALUE, &v);
}

/*
 * Push one column value (as a WJB_VALUE) converted as col says.
 */
void
rk_json_push_value(JsonbParseState **state, const RkJsonColumn *col,
				   Datum value, bool isnull)
{
	JsonbValue	v;

	if (isnull)
	{
		v.type = jbvNull;
		pushJsonbValue(state, WJB_VALUE, &v);
		return;
	}

	switch (col->kind)
	{
		case RKJ_BOOL:
			v.type = jbvBool;
			v.val.boolean = DatumGetBool(value);
			pushJsonbValue(state, WJB_VALUE, &v);
			break;
		case RKJ_INT:
			{
				int64		i;

				if (col->typid == INT2OID)
					i = DatumGetInt16(value);
				else if (col->typid == INT4OID)
					i = DatumGetInt32(value);
				else
					i = DatumGetInt64(value);
				push_numeric(state, int64_to_numeric(i));
			}
			break;
		case RKJ_FLOAT:
			{
				float8		f = (col->typid == FLOAT4OID) ?
				(float8) DatumGetFloat4(value) : DatumGetFloat8(value);

				if (isnan(f) || isinf(f))
					rk_json_push_string(state, isnan(f) ? "NaN" :
										(f > 0 ? "Infinity" : "-Infinity"));
				else
				{
					/* shortest exact text, as float8out/float4out write it */
					char	   *digits = (col->typid == FLOAT4OID) ?
					DatumGetCString(DirectFunctionCall1(float4out, value)) :
					DatumGetCString(DirectFunctionCall1(float8out, value));

					push_numeric(state,
								 DatumGetNumeric(DirectFunctionCall3(numeric_in,
																	 CStringGetDatum(digits),
																	 ObjectIdGetDatum(InvalidOid),
																	 Int32GetDatum(-1))));
				}
			}
			break;
		case RKJ_NUMERIC:
			push_numeric(state, DatumGetNumeric(value));
			break;
		case RKJ_TEXT:
			{
				text	   *t = DatumGetTextPP(value);

				v.type = jbvString;
				v.val.string.val = VARDATA_ANY(t);
				v.val.string.len = VARSIZE_ANY_EXHDR(t);
				pushJsonbValue(state, WJB_VALUE, &v);
			}
			break;
		case RKJ_JSONB:
			push_jsonb(state, DatumGetJsonbP(value));
			break;
		case RKJ_JSON:
			push_jsonb(state,
					   DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
														  CStringGetDatum(TextDatumGetCString(value)))));
			break;
		case RKJ_DATETIME:
			{
				char		buf[MAXDATELEN + 1];

				/* the parse state keeps the pointer: copy out of buf */
				rk_json_push_string(state,
									pstrdup(JsonEncodeDateTime(buf, value, col->typid, NULL)));
			}
			break;
		case RKJ_OTHER:
			rk_json_push_string(state,
								OutputFunctionCall((FmgrInfo *) &col->output, value));
			break;
	}
}
