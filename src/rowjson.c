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
 *	  output function), converts each value into a JsonbValue with
 *	  rk_json_value(), and builds the object with rk_json_object().
 *
 *	  rk_json_object() writes jsonb's binary format directly, as
 *	  JsonbValueToJsonb() would write it from a JsonbParseState, but in one
 *	  pass and one allocation: the audit trigger builds two or three
 *	  images per row, and the parse state's per-value pallocs, the key sort
 *	  and above all the unpacking of every nested jsonb value into a tree of
 *	  JsonbValues (which JsonbValueToJsonb then packs again, into the same
 *	  bytes) were a fifth of what auditing added to a DELETE.  A nested jsonb
 *	  object or array is copied as it is stored.  The caller passes the keys
 *	  in jsonb's order (rk_json_key_cmp: shorter first, then bytewise) and
 *	  without duplicates, as jsonb keeps them; column names are unique and
 *	  their order is computed once per table.  Builds with
 *	  USE_ASSERT_CHECKING also build every object through pushJsonbValue()
 *	  and check that the bytes are the same.
 *
 * Copyright (c) 2026, rowkeeper developers
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

/* A string value (not copied: str must outlive the value). */
void
rk_json_string(const char *str, JsonbValue *v)
{
	v->type = jbvString;
	v->val.string.val = (char *) str;
	v->val.string.len = strlen(str);
}

/* A numeric as a JSON number, or as a string when JSON cannot say it. */
static void
numeric_value(Numeric num, JsonbValue *v)
{
	if (numeric_is_nan(num) || numeric_is_inf(num))
	{
		rk_json_string(DatumGetCString(DirectFunctionCall1(numeric_out,
														   NumericGetDatum(num))), v);
		return;
	}
	v->type = jbvNumeric;
	v->val.numeric = num;
}

/*
 * A jsonb value nested in place: a container as jbvBinary (copied as
 * stored), a scalar as itself, as pushJsonbValue() unwraps it.
 */
static void
jsonb_value(Jsonb *jb, JsonbValue *v)
{
	if (JB_ROOT_IS_SCALAR(jb))
	{
		if (!JsonbExtractScalar(&jb->root, v))
			elog(ERROR, "jsonb scalar expected");
		return;
	}
	v->type = jbvBinary;
	v->val.binary.data = &jb->root;
	v->val.binary.len = VARSIZE(jb) - VARHDRSZ;
}

/*
 * One column value converted as col says.  The value may point into the
 * datum, which must outlive it.
 */
void
rk_json_value(const RkJsonColumn *col, Datum value, bool isnull,
			  JsonbValue *v)
{
	if (isnull)
	{
		v->type = jbvNull;
		return;
	}

	switch (col->kind)
	{
		case RKJ_BOOL:
			v->type = jbvBool;
			v->val.boolean = DatumGetBool(value);
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
				numeric_value(int64_to_numeric(i), v);
			}
			break;
		case RKJ_FLOAT:
			{
				float8		f = (col->typid == FLOAT4OID) ?
				(float8) DatumGetFloat4(value) : DatumGetFloat8(value);

				if (isnan(f) || isinf(f))
					rk_json_string(isnan(f) ? "NaN" :
								   (f > 0 ? "Infinity" : "-Infinity"), v);
				else
				{
					/* shortest exact text, as float8out/float4out write it */
					char	   *digits = (col->typid == FLOAT4OID) ?
					DatumGetCString(DirectFunctionCall1(float4out, value)) :
					DatumGetCString(DirectFunctionCall1(float8out, value));

					numeric_value(DatumGetNumeric(DirectFunctionCall3(numeric_in,
																	  CStringGetDatum(digits),
																	  ObjectIdGetDatum(InvalidOid),
																	  Int32GetDatum(-1))), v);
				}
			}
			break;
		case RKJ_NUMERIC:
			numeric_value(DatumGetNumeric(value), v);
			break;
		case RKJ_TEXT:
			{
				text	   *t = DatumGetTextPP(value);

				v->type = jbvString;
				v->val.string.val = VARDATA_ANY(t);
				v->val.string.len = VARSIZE_ANY_EXHDR(t);
			}
			break;
		case RKJ_JSONB:
			jsonb_value(DatumGetJsonbP(value), v);
			break;
		case RKJ_JSON:
			jsonb_value(DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
														   CStringGetDatum(TextDatumGetCString(value)))),
						v);
			break;
		case RKJ_DATETIME:
			{
				char		buf[MAXDATELEN + 1];

				/* the value keeps the pointer: copy out of buf */
				rk_json_string(pstrdup(JsonEncodeDateTime(buf, value, col->typid, NULL)), v);
			}
			break;
		case RKJ_OTHER:
			rk_json_string(OutputFunctionCall((FmgrInfo *) &col->output, value), v);
			break;
	}
}

/*
 * jsonb's order of object keys (lengthCompareJsonbStringValue): shorter
 * first, equal lengths bytewise.
 */
int
rk_json_key_cmp(const char *a, int alen, const char *b, int blen)
{
	if (alen != blen)
		return alen < blen ? -1 : 1;
	return memcmp(a, b, alen);
}

/* Whether a value of this kind starts at an int-aligned offset. */
static inline bool
value_aligned(const JsonbValue *v)
{
	return v->type == jbvNumeric || v->type == jbvBinary;
}

/* Bytes of a value after its alignment padding, and its JEntry type. */
static inline Size
value_size(const JsonbValue *v, uint32 *type)
{
	switch (v->type)
	{
		case jbvNull:
			*type = JENTRY_ISNULL;
			return 0;
		case jbvBool:
			*type = v->val.boolean ? JENTRY_ISBOOL_TRUE : JENTRY_ISBOOL_FALSE;
			return 0;
		case jbvString:
			*type = JENTRY_ISSTRING;
			return v->val.string.len;
		case jbvNumeric:
			*type = JENTRY_ISNUMERIC;
			return VARSIZE_ANY(v->val.numeric);
		case jbvBinary:
			*type = JENTRY_ISCONTAINER;
			return v->val.binary.len;
		default:
			elog(ERROR, "unexpected jsonb value type %d in a row image",
				 (int) v->type);
	}
	return 0;					/* keep the compiler quiet */
}

static inline const void *
value_data(const JsonbValue *v)
{
	switch (v->type)
	{
		case jbvString:
			return v->val.string.val;
		case jbvNumeric:
			return v->val.numeric;
		case jbvBinary:
			return v->val.binary.data;
		default:
			return NULL;
	}
}

#ifdef USE_ASSERT_CHECKING
/* The same object built the usual way, to check rk_json_object(). */
static Jsonb *
object_by_parse_state(const RkJsonPair *pairs, int npairs)
{
	JsonbParseState *state = NULL;
	JsonbValue *res;
	int			i;

	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < npairs; i++)
	{
		JsonbValue	k;

		k.type = jbvString;
		k.val.string.val = (char *) pairs[i].key;
		k.val.string.len = pairs[i].keylen;
		pushJsonbValue(&state, WJB_KEY, &k);
		pushJsonbValue(&state, WJB_VALUE, (JsonbValue *) &pairs[i].value);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}
#endif

/*
 * The jsonb object of npairs pairs, keys in rk_json_key_cmp order and
 * distinct.  The layout is convertJsonbObject()'s: a header, one JEntry per
 * key and then per value (a length, or every JB_OFFSET_STRIDE'th one the
 * end offset), the keys' bytes, then the values' bytes, numerics and
 * containers padded to an int boundary counted from the start of the datum.
 */
Jsonb *
rk_json_object(const RkJsonPair *pairs, int npairs)
{
	Size		start = VARHDRSZ + sizeof(uint32) + 2 * npairs * sizeof(JEntry);
	Size		end = start;
	Size		off;
	char	   *buf;
	JEntry	   *entries;
	uint32		header;
	int			i;

	if (npairs > JB_CMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("number of jsonb object pairs exceeds the maximum allowed (%zu)",
						(Size) JB_CMASK)));
	for (i = 0; i < npairs; i++)
		end += pairs[i].keylen;
	for (i = 0; i < npairs; i++)
	{
		uint32		type;

		if (value_aligned(&pairs[i].value))
			end = INTALIGN(end);
		end += value_size(&pairs[i].value, &type);
	}
	if (end - start > JENTRY_OFFLENMASK)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("total size of jsonb object elements exceeds the maximum of %u bytes",
						JENTRY_OFFLENMASK)));

	buf = palloc0(end);			/* padding is zeros, as jsonb writes it */
	SET_VARSIZE(buf, end);
	header = (uint32) npairs | JB_FOBJECT;
	memcpy(buf + VARHDRSZ, &header, sizeof(uint32));
	entries = (JEntry *) (buf + VARHDRSZ + sizeof(uint32));

	off = start;
	for (i = 0; i < npairs; i++)
	{
		memcpy(buf + off, pairs[i].key, pairs[i].keylen);
		off += pairs[i].keylen;
		entries[i] = JENTRY_ISSTRING |
			((i % JB_OFFSET_STRIDE) == 0 ?
			 (uint32) (off - start) | JENTRY_HAS_OFF : (uint32) pairs[i].keylen);
	}
	for (i = 0; i < npairs; i++)
	{
		const JsonbValue *v = &pairs[i].value;
		Size		from = off;
		Size		len;
		uint32		type;
		int			j = npairs + i;

		if (value_aligned(v))
			off = INTALIGN(off);
		len = value_size(v, &type);
		if (len > 0)
			memcpy(buf + off, value_data(v), len);
		off += len;
		entries[j] = type |
			((j % JB_OFFSET_STRIDE) == 0 ?
			 (uint32) (off - start) | JENTRY_HAS_OFF : (uint32) (off - from));
	}
	Assert(off == end);

#ifdef USE_ASSERT_CHECKING
	{
		Jsonb	   *check = object_by_parse_state(pairs, npairs);

		Assert(VARSIZE(check) == end && memcmp(check, buf, end) == 0);
		pfree(check);
	}
#endif
	return (Jsonb *) buf;
}
