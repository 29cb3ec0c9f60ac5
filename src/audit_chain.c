/*-------------------------------------------------------------------------
 *
 * audit_chain.c
 *	  The digest of one audit entry for the hash chain:
 *	  rowkeeper.audit_entry_digest(rowkeeper.audit_log) returns bytea.
 *
 *	  The chain itself (sealing batches, verifying) is SQL in the install
 *	  script; this file owns the canonical encoding, which must be exact,
 *	  unambiguous and the same on every server, and is computed for every
 *	  entry a seal or a verification reads, so it is C.
 *
 *	  Encoding "rowkeeper-audit-v1;" followed by every column in a fixed
 *	  order, each as <byte length>:<bytes>; (NULL as "-;", so NULL and ''
 *	  differ).  Version 1 is what 0.2.0 sealed (batches without salts): the
 *	  columns 0.2.0's log had, id to row_ref, with row_ref as 0.2.0
 *	  computed it from the schema and table names (rk_row_ref_0_2; the
 *	  upgrade to 0.3.0 recomputes the column from the table id), so that
 *	  batches sealed before the upgrade keep verifying after it.  Integers, oids and transaction ids in decimal; logged_at as
 *	  microseconds since 2000-01-01 UTC (no time zone or DateStyle
 *	  involved); text in UTF-8; jsonb in its canonical text form (keys
 *	  sorted; 1 and 1.0 differ, as they differ in the log); inet in its
 *	  text form.  The digest is SHA-256, PostgreSQL's own implementation.
 *
 *	  Version 2 (batches sealed with a salt per entry, audit_seal.salts):
 *	  "rowkeeper-audit-v2;" and the same fields in the same order, but every
 *	  value that erasure may remove is replaced by a commitment to it:
 *	  actor, request_addr, user_agent, metadata, and each top-level value
 *	  of old_row and new_row (an image is "{<n>;" then <key> and the
 *	  commitment of its value for each key in jsonb order, then "}").  A
 *	  position p is (field, key); its commitment is
 *	    c_p = sha256("rk-c;" || s_p || <the value encoded as in v1>)
 *	  with the value salt
 *	    s_p = first 16 bytes of sha256("rk-s;" || entry salt || <field> <key>)
 *	  NULL values are not committed ("-;" as in v1).
 *
 *	  Erasure (rowkeeper._audit_erase, called by forget() and
 *	  forget_actor()) replaces a value by a marker and keeps c_p in the
 *	  entry's "erased" column, {"c": {...}, "s": {...}, "by": [...]}: "c"
 *	  holds the commitments of erased values, "s" the salts of every value
 *	  still there, "by" the ids of the erasure records (log entries FORGET /
 *	  FORGET_ACTOR).  The entry salt itself is then dropped from
 *	  audit_seal, so an erased value cannot be guessed back from c_p (its
 *	  salt is gone) while every value left is still bound to the sealed
 *	  digest through its own salt: the digest of the erased entry equals
 *	  the one sealed, and any other change to it does not.  The digest uses
 *	  c_p from "erased" only when the value is the marker (an erased actor
 *	  holds its pseudonym, which verify_audit_chain() checks against the
 *	  erasure record).
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/xid8.h"
#include "miscadmin.h"

#include "audit_log.h"
#include "compat.h"

PG_FUNCTION_INFO_V1(audit_entry_digest);
PG_FUNCTION_INFO_V1(audit_entry_digest_v2);
PG_FUNCTION_INFO_V1(audit_erase);
PG_FUNCTION_INFO_V1(audit_random_bytes);
PG_FUNCTION_INFO_V1(audit_seal_entry);
PG_FUNCTION_INFO_V1(audit_outer_user);

/* The columns, in encoding order, with the type each must have. */
static const struct
{
	const char *name;
	Oid			type;
	char		kind;			/* v2: 'p'lain, 'v'alue committed, 'i'mage */
}			chain_fields[] =
{
	{"id", INT8OID, 'p'},
	{"logged_at", TIMESTAMPTZOID, 'p'},
	{"txid", XID8OID, 'p'},
	{"table_oid", OIDOID, 'p'},
	{"schema_name", TEXTOID, 'p'},
	{"table_name", TEXTOID, 'p'},
	{"op", TEXTOID, 'p'},
	{"row_key", JSONBOID, 'p'},
	{"old_key", JSONBOID, 'p'},
	{"old_row", JSONBOID, 'i'},
	{"new_row", JSONBOID, 'i'},
	{"actor", TEXTOID, 'v'},
	{"db_user", TEXTOID, 'p'},
	{"role_user", TEXTOID, 'p'},
	{"session_user_name", TEXTOID, 'p'},
	{"client_addr", INETOID, 'p'},
	{"application_name", TEXTOID, 'p'},
	{"request_id", TEXTOID, 'p'},
	{"tenant", TEXTOID, 'p'},
	{"row_ref", INT8OID, 'p'},
	{"table_id", INT8OID, 'p'},
	{"request_addr", INETOID, 'v'},
	{"user_agent", TEXTOID, 'v'},
	{"metadata", JSONBOID, 'v'},
};

/* Indexes into chain_fields of the fields erasure touches. */
#define CF_SCHEMA_NAME 4
#define CF_TABLE_NAME 5
#define CF_ROW_KEY 7
#define CF_OLD_ROW 9
#define CF_NEW_ROW 10
#define CF_ACTOR 11
#define CF_REQUEST_ADDR 21
#define CF_USER_AGENT 22
#define CF_METADATA 23
#define CF_ROW_REF 19

/* Version 1 covers the fields up to row_ref (0.2.0's log). */
#define N_V1_FIELDS (CF_ROW_REF + 1)

#define SALT_LEN 16
#define ERASED_MARKER "[erased]"

#define N_CHAIN_FIELDS ((int) lengthof(chain_fields))

/* Attribute numbers of the fields in the row type seen last (fn_extra). */
typedef struct ChainMap
{
	Oid			typid;
	int32		typmod;
	AttrNumber	attnum[N_CHAIN_FIELDS];
	AttrNumber	erased;			/* the "erased" column, or 0 */
} ChainMap;

/*
 * The attribute numbers of the chain fields in a row type, cached in
 * fn_extra.  The first "needed" fields must be there (a v1 digest needs
 * 0.2.0's columns only, so 0.2.0's SQL can seal with this library before
 * ALTER EXTENSION UPDATE); the others are mapped when present.
 */
static ChainMap *
chain_map(FunctionCallInfo fcinfo, TupleDesc desc, Oid typid, int32 typmod,
		  int needed)
{
	ChainMap   *map = (ChainMap *) fcinfo->flinfo->fn_extra;
	int			f,
				i;

	if (map != NULL && map->typid == typid && map->typmod == typmod)
		return map;
	map = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ChainMap));
	map->typid = typid;
	map->typmod = typmod;
	for (f = 0; f < N_CHAIN_FIELDS; f++)
	{
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped &&
				strcmp(NameStr(att->attname), chain_fields[f].name) == 0)
			{
				if (att->atttypid != chain_fields[f].type)
					ereport(ERROR,
							(errcode(ERRCODE_DATATYPE_MISMATCH),
							 errmsg("column \"%s\" of the audit entry has type %s, not %s",
									chain_fields[f].name,
									format_type_be(att->atttypid),
									format_type_be(chain_fields[f].type))));
				map->attnum[f] = att->attnum;
			}
		}
		if (map->attnum[f] == InvalidAttrNumber && f < needed)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("the audit entry has no column \"%s\"", chain_fields[f].name),
					 errhint("Pass a row of rowkeeper.audit_log.")));
	}
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && att->atttypid == JSONBOID &&
			strcmp(NameStr(att->attname), "erased") == 0)
			map->erased = att->attnum;
	}
	fcinfo->flinfo->fn_extra = map;
	return map;
}

/* Append one length-prefixed field; s is in the server encoding if text. */
static void
append_field(StringInfo buf, const char *s, int len, bool convert)
{
	const char *utf8 = s;

	if (convert && len > 0)
	{
		utf8 = pg_server_to_any(s, len, PG_UTF8);
		if (utf8 != s)
			len = strlen(utf8);
	}
	appendStringInfo(buf, "%d:", len);
	appendBinaryStringInfo(buf, utf8, len);
	appendStringInfoChar(buf, ';');
}

static void
append_datum(StringInfo buf, Oid type, Datum value)
{
	char		num[32];

	switch (type)
	{
		case INT8OID:
			snprintf(num, sizeof(num), INT64_FORMAT, DatumGetInt64(value));
			append_field(buf, num, strlen(num), false);
			break;
		case TIMESTAMPTZOID:
			snprintf(num, sizeof(num), INT64_FORMAT, (int64) DatumGetTimestampTz(value));
			append_field(buf, num, strlen(num), false);
			break;
		case XID8OID:
			snprintf(num, sizeof(num), UINT64_FORMAT,
					 U64FromFullTransactionId(DatumGetFullTransactionId(value)));
			append_field(buf, num, strlen(num), false);
			break;
		case OIDOID:
			snprintf(num, sizeof(num), "%u", DatumGetObjectId(value));
			append_field(buf, num, strlen(num), false);
			break;
		case TEXTOID:
			{
				text	   *t = DatumGetTextPP(value);

				append_field(buf, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), true);
				break;
			}
		case JSONBOID:
			{
				Jsonb	   *jb = DatumGetJsonbP(value);
				char	   *s = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

				append_field(buf, s, strlen(s), true);
				break;
			}
		default:				/* inet */
			{
				Oid			out;
				bool		varlena;
				char	   *s;

				getTypeOutputInfo(type, &out, &varlena);
				s = OidOutputFunctionCall(out, value);
				append_field(buf, s, strlen(s), true);
				break;
			}
	}
}

/*
 * rowkeeper.audit_entry_digest(e rowkeeper.audit_log) RETURNS bytea
 */
Datum
audit_entry_digest(PG_FUNCTION_ARGS)
{
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(0);
	Oid			typid = HeapTupleHeaderGetTypeId(th);
	int32		typmod = HeapTupleHeaderGetTypMod(th);
	TupleDesc	desc = lookup_rowtype_tupdesc(typid, typmod);
	HeapTupleData tuple;
	ChainMap   *map;
	StringInfoData buf;
	bytea	   *result;
	int			f;

	map = chain_map(fcinfo, desc, typid, typmod, N_V1_FIELDS);
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "rowkeeper-audit-v1;");
	for (f = 0; f < N_V1_FIELDS; f++)
	{
		bool		isnull;
		Datum		value;

		if (f == CF_ROW_REF)
		{
			bool		null_s,
						null_t;
			Datum		key = heap_getattr(&tuple, map->attnum[CF_ROW_KEY], desc, &isnull);
			Datum		s = heap_getattr(&tuple, map->attnum[CF_SCHEMA_NAME], desc, &null_s);
			Datum		t = heap_getattr(&tuple, map->attnum[CF_TABLE_NAME], desc, &null_t);

			isnull = isnull || null_s || null_t;
			if (!isnull)
				value = Int64GetDatum(rk_row_ref_0_2(DatumGetTextPP(s), DatumGetTextPP(t),
													 DatumGetJsonbP(key)));
		}
		else
			value = heap_getattr(&tuple, map->attnum[f], desc, &isnull);
		if (isnull)
			appendStringInfoString(&buf, "-;");
		else
			append_datum(&buf, chain_fields[f].type, value);
	}
	ReleaseTupleDesc(desc);

	result = palloc(VARHDRSZ + RK_SHA256_LENGTH);
	SET_VARSIZE(result, VARHDRSZ + RK_SHA256_LENGTH);
	rk_sha256((const uint8 *) buf.data, buf.len, (uint8 *) VARDATA(result));
	pfree(buf.data);
	PG_RETURN_BYTEA_P(result);
}

/* ------------------------------------------------------------------------
 * Version 2: commitments per value, and erasure
 * ------------------------------------------------------------------------
 */

/* One position's commitment or salt, as kept in the "erased" column. */
typedef struct ErasedItem
{
	int			field;			/* index into chain_fields */
	char	   *key;			/* image key, or NULL for a whole field */
	int			keylen;
	bool		is_commitment;	/* "c" (32 bytes) or "s" (16 bytes) */
	uint8		bytes[RK_SHA256_LENGTH];
} ErasedItem;

/* What a v2 encoding or an erasure reads of an entry. */
typedef struct V2Entry
{
	const uint8 *salt;			/* SALT_LEN bytes: the entry salt */
	JsonbContainer *c_map;		/* erased->c, or NULL */
	JsonbContainer *s_map;		/* erased->s, or NULL */
	/* erasure only: what the new "erased" column holds */
	ErasedItem *items;
	int			nitems;
	int			maxitems;
} V2Entry;

static const uint8 zero_salt[SALT_LEN];

/*
 * One hash context for the many small hashes of one entry (two per value):
 * created by the top-level function, reused, freed at its end (and by the
 * resource owner on error; every top-level function sets it first).
 */
static pg_cryptohash_ctx *entry_hash = NULL;

static void
hash_begin(void)
{
	entry_hash = NULL;
	entry_hash = pg_cryptohash_create(PG_SHA256);
	if (entry_hash == NULL)
		elog(ERROR, "could not create a SHA-256 context");
}

static void
hash_end(void)
{
	pg_cryptohash_free(entry_hash);
	entry_hash = NULL;
}

static void
sha256_buf(const uint8 *data, size_t len, uint8 *out)
{
	if (entry_hash == NULL)
		rk_sha256(data, len, out);
	else if (pg_cryptohash_init(entry_hash) < 0 ||
			 pg_cryptohash_update(entry_hash, data, len) < 0 ||
			 pg_cryptohash_final(entry_hash, out, RK_SHA256_LENGTH) < 0)
		elog(ERROR, "could not compute a SHA-256 digest");
}

/*
 * A new entry salt: sha256(key || counter), the key drawn once per backend
 * from the strong random source and never stored, so salts are as
 * unpredictable as random ones at the cost of one hash.
 */
static void
new_salt(uint8 *out)
{
	static uint8 key[RK_SHA256_LENGTH];
	static bool have_key = false;
	static uint64 counter = 0;
	uint8		buf[RK_SHA256_LENGTH + sizeof(uint64)];
	uint8		h[RK_SHA256_LENGTH];

	if (!have_key)
	{
		if (!pg_strong_random(key, sizeof(key)))
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("could not generate a random salt key")));
		have_key = true;
	}
	counter++;
	memcpy(buf, key, sizeof(key));
	memcpy(buf + sizeof(key), &counter, sizeof(counter));
	sha256_buf(buf, sizeof(buf), h);
	memcpy(out, h, SALT_LEN);
}

/* The object at key in an object container, or NULL. */
static JsonbContainer *
object_at(JsonbContainer *cont, const char *key)
{
	JsonbValue	v;

	if (cont == NULL || !JsonContainerIsObject(cont) ||
		getKeyJsonValueFromContainer(cont, key, strlen(key), &v) == NULL ||
		v.type != jbvBinary || !JsonContainerIsObject(v.val.binary.data))
		return NULL;
	return v.val.binary.data;
}

/* Decode a hex string of exactly len bytes; false if it is not one. */
static bool
hex_bytes(const char *s, int slen, uint8 *out, int len)
{
	int			i;

	if (slen != 2 * len)
		return false;
	for (i = 0; i < 2 * len; i++)
	{
		char		ch = s[i];
		int			d;

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else
			return false;
		if (i % 2 == 0)
			out[i / 2] = (uint8) (d << 4);
		else
			out[i / 2] |= (uint8) d;
	}
	return true;
}

/*
 * The bytes a map ("c" or "s") holds for position (field, key): the map is
 * {field: hex} for a whole field, {field: {key: hex}} for an image value.
 */
static bool
map_lookup(JsonbContainer *map, int field, const char *key, int keylen,
		   uint8 *out, int len)
{
	JsonbValue	v;
	JsonbContainer *cont = map;
	const char *name = chain_fields[field].name;

	if (map == NULL)
		return false;
	if (key != NULL)
	{
		cont = object_at(map, name);
		name = key;
	}
	else
		keylen = strlen(name);
	if (cont == NULL ||
		getKeyJsonValueFromContainer(cont, name, keylen, &v) == NULL ||
		v.type != jbvString)
		return false;
	return hex_bytes(v.val.string.val, v.val.string.len, out, len);
}

/* s_p: the first SALT_LEN bytes of sha256("rk-s;" || salt || field key). */
static void
derive_salt(const uint8 *salt, int field, const char *key, int keylen,
			uint8 *out)
{
	StringInfoData buf;
	uint8		h[RK_SHA256_LENGTH];

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, "rk-s;", 5);
	appendBinaryStringInfo(&buf, (const char *) salt, SALT_LEN);
	append_field(&buf, chain_fields[field].name, strlen(chain_fields[field].name), false);
	if (key != NULL)
		append_field(&buf, key, keylen, true);
	else
		appendStringInfoString(&buf, "-;");
	sha256_buf((const uint8 *) buf.data, buf.len, h);
	memcpy(out, h, SALT_LEN);
	pfree(buf.data);
}

/* c_p = sha256("rk-c;" || s_p || encoded value). */
static void
commit_value(const uint8 *s, const StringInfo enc, uint8 *out)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, "rk-c;", 5);
	appendBinaryStringInfo(&buf, (const char *) s, SALT_LEN);
	appendBinaryStringInfo(&buf, enc->data, enc->len);
	sha256_buf((const uint8 *) buf.data, buf.len, out);
	pfree(buf.data);
}

/* The salt of a position still holding its value: kept, else derived. */
static void
value_salt(V2Entry *st, int field, const char *key, int keylen, uint8 *s)
{
	if (!map_lookup(st->s_map, field, key, keylen, s, SALT_LEN))
		derive_salt(st->salt, field, key, keylen, s);
}

/* A jsonb value (scalar or container) in its canonical text form, encoded. */
static void
encode_jsonb_value(StringInfo enc, JsonbValue *v)
{
	char	   *s;

	if (v->type == jbvBinary)
		s = JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	else
	{
		Jsonb	   *jb = JsonbValueToJsonb(v);

		s = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	}
	append_field(enc, s, strlen(s), true);
}

static bool
is_marker_value(JsonbValue *v)
{
	return v->type == jbvString && v->val.string.len == (int) strlen(ERASED_MARKER) &&
		memcmp(v->val.string.val, ERASED_MARKER, v->val.string.len) == 0;
}

/* Whether an erased whole field holds what erasure leaves there. */
static bool
field_marker_ok(int field, bool isnull, Datum value)
{
	switch (field)
	{
		case CF_ACTOR:
			return !isnull;		/* the pseudonym, checked by verification */
		case CF_REQUEST_ADDR:
			return isnull;
		case CF_USER_AGENT:
			return !isnull && strcmp(TextDatumGetCString(value), ERASED_MARKER) == 0;
		case CF_METADATA:
			{
				JsonbValue	v;

				return !isnull &&
					JsonbExtractScalar(&DatumGetJsonbP(value)->root, &v) &&
					is_marker_value(&v);
			}
	}
	return false;
}

/* Append a commitment to the encoding. */
static void
append_commitment(StringInfo buf, const uint8 *c)
{
	append_field(buf, (const char *) c, RK_SHA256_LENGTH, false);
}

/* An erased position whose value is not the marker: make the digest differ. */
static void
append_tampered(StringInfo buf, const StringInfo enc)
{
	appendStringInfoChar(buf, '!');
	appendBinaryStringInfo(buf, enc->data, enc->len);
}

/* The v2 encoding of one image (old_row or new_row). */
static void
encode_image(StringInfo buf, V2Entry *st, int field, Jsonb *jb)
{
	StringInfoData enc;
	uint8		c[RK_SHA256_LENGTH];
	uint8		s[SALT_LEN];
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;

	initStringInfo(&enc);
	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
	{
		/* not a row image: one value */
		char	   *text = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

		append_field(&enc, text, strlen(text), true);
		value_salt(st, field, NULL, 0, s);
		commit_value(s, &enc, c);
		append_commitment(buf, c);
		return;
	}
	appendStringInfo(buf, "{%u;", JB_ROOT_COUNT(jb));
	it = JsonbIteratorInit(&jb->root);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			keylen;

		if (r != WJB_KEY)
			continue;
		key = pnstrdup(v.val.string.val, v.val.string.len);
		keylen = v.val.string.len;
		append_field(buf, key, keylen, true);
		r = JsonbIteratorNext(&it, &v, true);
		Assert(r == WJB_VALUE);
		resetStringInfo(&enc);
		encode_jsonb_value(&enc, &v);
		if (map_lookup(st->c_map, field, key, keylen, c, RK_SHA256_LENGTH))
		{
			append_commitment(buf, c);
			if (!is_marker_value(&v))
				append_tampered(buf, &enc);
		}
		else
		{
			value_salt(st, field, key, keylen, s);
			commit_value(s, &enc, c);
			append_commitment(buf, c);
		}
		pfree(key);
	}
	appendStringInfoChar(buf, '}');
	pfree(enc.data);
}

/* Read the entry's "erased" column into st. */
static void
read_erased(V2Entry *st, HeapTuple tuple, TupleDesc desc, ChainMap *map)
{
	bool		isnull = true;
	Datum		d = (Datum) 0;

	st->c_map = st->s_map = NULL;
	if (map->erased != InvalidAttrNumber)
		d = heap_getattr(tuple, map->erased, desc, &isnull);
	if (!isnull)
	{
		Jsonb	   *erased = DatumGetJsonbP(d);

		st->c_map = object_at(&erased->root, "c");
		st->s_map = object_at(&erased->root, "s");
	}
}

/* The v2 encoding of a whole entry into buf. */
static void
encode_v2(StringInfo buf, HeapTuple tuple, TupleDesc desc, ChainMap *map,
		  V2Entry *st)
{
	StringInfoData enc;
	int			f;

	initStringInfo(&enc);
	appendStringInfoString(buf, "rowkeeper-audit-v2;");
	for (f = 0; f < N_CHAIN_FIELDS; f++)
	{
		bool		isnull;
		Datum		value = heap_getattr(tuple, map->attnum[f], desc, &isnull);
		uint8		c[RK_SHA256_LENGTH];
		uint8		s[SALT_LEN];

		if (chain_fields[f].kind == 'v' &&
			map_lookup(st->c_map, f, NULL, 0, c, RK_SHA256_LENGTH))
		{
			append_commitment(buf, c);
			if (!field_marker_ok(f, isnull, value))
			{
				resetStringInfo(&enc);
				if (isnull)
					appendStringInfoString(&enc, "-;");
				else
					append_datum(&enc, chain_fields[f].type, value);
				append_tampered(buf, &enc);
			}
		}
		else if (isnull)
			appendStringInfoString(buf, "-;");
		else if (chain_fields[f].kind == 'p')
			append_datum(buf, chain_fields[f].type, value);
		else if (chain_fields[f].kind == 'v')
		{
			resetStringInfo(&enc);
			append_datum(&enc, chain_fields[f].type, value);
			value_salt(st, f, NULL, 0, s);
			commit_value(s, &enc, c);
			append_commitment(buf, c);
		}
		else
			encode_image(buf, st, f, DatumGetJsonbP(value));
	}
	pfree(enc.data);
}

/* The tuple of a composite argument, and its descriptor (to release). */
static TupleDesc
arg_tuple(FunctionCallInfo fcinfo, int argno, HeapTupleData *tuple, ChainMap **map)
{
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(argno);
	Oid			typid = HeapTupleHeaderGetTypeId(th);
	int32		typmod = HeapTupleHeaderGetTypMod(th);
	TupleDesc	desc = lookup_rowtype_tupdesc(typid, typmod);

	*map = chain_map(fcinfo, desc, typid, typmod, N_CHAIN_FIELDS);
	tuple->t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple->t_self);
	tuple->t_tableOid = InvalidOid;
	tuple->t_data = th;
	return desc;
}

/* The entry salt argument: SALT_LEN bytes; NULL or empty: none. */
static const uint8 *
arg_salt(FunctionCallInfo fcinfo, int argno)
{
	bytea	   *b;

	if (PG_ARGISNULL(argno))
		return zero_salt;
	b = PG_GETARG_BYTEA_PP(argno);
	if (VARSIZE_ANY_EXHDR(b) == 0)
		return zero_salt;		/* past the end of a batch's salts */
	if (VARSIZE_ANY_EXHDR(b) != SALT_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("an audit entry salt has %d bytes, not %d",
						(int) VARSIZE_ANY_EXHDR(b), SALT_LEN),
				 errhint("Pass the entry's 16 bytes of rowkeeper.audit_seal.salts.")));
	return (const uint8 *) VARDATA_ANY(b);
}

static bytea *
digest_v2(HeapTuple tuple, TupleDesc desc, ChainMap *map, const uint8 *salt)
{
	V2Entry		st;
	StringInfoData buf;
	bytea	   *result;

	memset(&st, 0, sizeof(st));
	st.salt = salt;
	read_erased(&st, tuple, desc, map);
	initStringInfo(&buf);
	hash_begin();
	encode_v2(&buf, tuple, desc, map, &st);
	result = palloc(VARHDRSZ + RK_SHA256_LENGTH);
	SET_VARSIZE(result, VARHDRSZ + RK_SHA256_LENGTH);
	sha256_buf((const uint8 *) buf.data, buf.len, (uint8 *) VARDATA(result));
	hash_end();
	pfree(buf.data);
	return result;
}

/*
 * rowkeeper.audit_entry_digest(e rowkeeper.audit_log, salt bytea) RETURNS
 * bytea: the v2 digest (salt NULL: none, for an entry whose values all
 * carry their own salt or commitment).
 */
Datum
audit_entry_digest_v2(PG_FUNCTION_ARGS)
{
	HeapTupleData tuple;
	ChainMap   *map;
	TupleDesc	desc;
	bytea	   *result;

	entry_hash = NULL;
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	desc = arg_tuple(fcinfo, 0, &tuple, &map);
	result = digest_v2(&tuple, desc, map, arg_salt(fcinfo, 1));
	ReleaseTupleDesc(desc);
	PG_RETURN_BYTEA_P(result);
}

/*
 * rowkeeper._audit_seal_entry(e rowkeeper.audit_log) RETURNS bytea: a new
 * random entry salt (16 bytes) followed by the entry's v2 digest under it
 * (32 bytes), for seal_audit_log().
 */
Datum
audit_seal_entry(PG_FUNCTION_ARGS)
{
	HeapTupleData tuple;
	ChainMap   *map;
	TupleDesc	desc = arg_tuple(fcinfo, 0, &tuple, &map);
	uint8		salt[SALT_LEN];
	bytea	   *digest;
	bytea	   *result;

	entry_hash = NULL;
	new_salt(salt);
	digest = digest_v2(&tuple, desc, map, salt);
	ReleaseTupleDesc(desc);
	result = palloc(VARHDRSZ + SALT_LEN + RK_SHA256_LENGTH);
	SET_VARSIZE(result, VARHDRSZ + SALT_LEN + RK_SHA256_LENGTH);
	memcpy(VARDATA(result), salt, SALT_LEN);
	memcpy(VARDATA(result) + SALT_LEN, VARDATA(digest), RK_SHA256_LENGTH);
	PG_RETURN_BYTEA_P(result);
}

/* rowkeeper._audit_random_bytes(n int) RETURNS bytea */
Datum
audit_random_bytes(PG_FUNCTION_ARGS)
{
	int32		n = PG_GETARG_INT32(0);
	bytea	   *result;

	if (n < 1 || n > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rowkeeper._audit_random_bytes(): %d bytes requested", n),
				 errdetail("Between 1 and 1024 bytes are generated."),
				 errhint("This function is internal to rowkeeper.")));
	result = palloc(VARHDRSZ + n);
	SET_VARSIZE(result, VARHDRSZ + n);
	if (!pg_strong_random(VARDATA(result), n))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));
	PG_RETURN_BYTEA_P(result);
}

/*
 * rowkeeper._audit_outer_user() RETURNS oid: the role that issued the
 * statement (the login role, or the one SET ROLE chose), which a SECURITY
 * DEFINER function does not hide: who is asking for an erasure.
 */
Datum
audit_outer_user(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}

static void
add_item(V2Entry *st, int field, const char *key, int keylen, bool is_c,
		 const uint8 *bytes)
{
	ErasedItem *it;

	if (st->nitems == st->maxitems)
	{
		st->maxitems = st->maxitems ? 2 * st->maxitems : 16;
		st->items = st->items ? repalloc(st->items, st->maxitems * sizeof(ErasedItem)) :
			palloc(st->maxitems * sizeof(ErasedItem));
	}
	it = &st->items[st->nitems++];
	it->field = field;
	it->key = key ? pnstrdup(key, keylen) : NULL;
	it->keylen = keylen;
	it->is_commitment = is_c;
	memcpy(it->bytes, bytes, is_c ? RK_SHA256_LENGTH : SALT_LEN);
}

static void
push_string(JsonbParseState **state, JsonbIteratorToken tok, const char *s, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = len;
	pushJsonbValue(state, tok, &v);
}

static void
push_hex(JsonbParseState **state, const uint8 *bytes, int len)
{
	static const char hexd[] = "0123456789abcdef";
	char	   *s = palloc(2 * len);
	int			i;

	for (i = 0; i < len; i++)
	{
		s[2 * i] = hexd[bytes[i] >> 4];
		s[2 * i + 1] = hexd[bytes[i] & 15];
	}
	push_string(state, WJB_VALUE, s, 2 * len);
}

/* Push the "c" or "s" map of the items. */
static void
push_map(JsonbParseState **state, V2Entry *st, bool is_c)
{
	int			f,
				i;

	push_string(state, WJB_KEY, is_c ? "c" : "s", 1);
	pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
	for (f = 0; f < N_CHAIN_FIELDS; f++)
	{
		bool		opened = false;

		for (i = 0; i < st->nitems; i++)
		{
			ErasedItem *it = &st->items[i];

			if (it->field != f || it->is_commitment != is_c)
				continue;
			if (it->key == NULL)
			{
				push_string(state, WJB_KEY, chain_fields[f].name, strlen(chain_fields[f].name));
				push_hex(state, it->bytes, is_c ? RK_SHA256_LENGTH : SALT_LEN);
				continue;
			}
			if (!opened)
			{
				push_string(state, WJB_KEY, chain_fields[f].name, strlen(chain_fields[f].name));
				pushJsonbValue(state, WJB_BEGIN_OBJECT, NULL);
				opened = true;
			}
			push_string(state, WJB_KEY, it->key, it->keylen);
			push_hex(state, it->bytes, is_c ? RK_SHA256_LENGTH : SALT_LEN);
		}
		if (opened)
			pushJsonbValue(state, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(state, WJB_END_OBJECT, NULL);
}

static bool
in_columns(ArrayType *columns, const char *key, int keylen)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n,
				i;

	if (columns == NULL)
		return false;
	deconstruct_array(columns, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		text	   *t;

		if (nulls[i])
			continue;
		t = DatumGetTextPP(elems[i]);
		if ((int) VARSIZE_ANY_EXHDR(t) == keylen && memcmp(VARDATA_ANY(t), key, keylen) == 0)
			return true;
	}
	return false;
}

/* Erase the listed keys of one image; returns the new image. */
static Jsonb *
erase_image(V2Entry *st, int field, Jsonb *jb, ArrayType *columns)
{
	JsonbParseState *state = NULL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbValue *res = NULL;
	JsonbIteratorToken r;
	StringInfoData enc;
	uint8		c[RK_SHA256_LENGTH];
	uint8		s[SALT_LEN];

	if (!JB_ROOT_IS_OBJECT(jb) || JB_ROOT_IS_SCALAR(jb))
	{
		/* not a row image: kept, with its salt */
		value_salt(st, field, NULL, 0, s);
		add_item(st, field, NULL, 0, false, s);
		return jb;
	}
	initStringInfo(&enc);
	it = JsonbIteratorInit(&jb->root);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		char	   *key;
		int			keylen;

		if (r != WJB_KEY)
		{
			res = pushJsonbValue(&state, r, r == WJB_BEGIN_OBJECT || r == WJB_END_OBJECT ? NULL : &v);
			continue;
		}
		key = pnstrdup(v.val.string.val, v.val.string.len);
		keylen = v.val.string.len;
		pushJsonbValue(&state, WJB_KEY, &v);
		r = JsonbIteratorNext(&it, &v, true);
		Assert(r == WJB_VALUE);
		if (map_lookup(st->c_map, field, key, keylen, c, RK_SHA256_LENGTH))
			add_item(st, field, key, keylen, true, c);	/* erased before */
		else
		{
			value_salt(st, field, key, keylen, s);
			if (in_columns(columns, key, keylen))
			{
				resetStringInfo(&enc);
				encode_jsonb_value(&enc, &v);
				commit_value(s, &enc, c);
				add_item(st, field, key, keylen, true, c);
				v.type = jbvString;
				v.val.string.val = ERASED_MARKER;
				v.val.string.len = strlen(ERASED_MARKER);
			}
			else
				add_item(st, field, key, keylen, false, s);
		}
		pushJsonbValue(&state, WJB_VALUE, &v);
		pfree(key);
	}
	pfree(enc.data);
	return JsonbValueToJsonb(res);
}

/*
 * rowkeeper._audit_erase(e rowkeeper.audit_log, salt bytea, columns text[],
 *                        identity boolean, pseudonym text, erased_by bigint)
 * RETURNS rowkeeper.audit_log
 *
 * The entry with the values of columns (keys of old_row and new_row)
 * replaced by "[erased]", and with identity also its actor replaced by
 * pseudonym, request_addr by NULL, user_agent and metadata by "[erased]".
 * Its "erased" column gets the commitment of each erased value, the salt
 * of each value left (so the entry no longer needs salt, which the caller
 * then drops from audit_seal) and erased_by among "by".  The v2 digest of
 * the result, under any salt, equals that of e under salt.
 */
Datum
audit_erase(PG_FUNCTION_ARGS)
{
	HeapTupleData tuple;
	ChainMap   *map;
	TupleDesc	desc;
	const uint8 *salt;
	ArrayType  *columns = PG_ARGISNULL(2) ? NULL : PG_GETARG_ARRAYTYPE_P(2);
	bool		identity = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	text	   *pseudonym = PG_ARGISNULL(4) ? NULL : PG_GETARG_TEXT_PP(4);
	V2Entry		st;
	Datum	   *values;
	bool	   *nulls;
	JsonbParseState *state = NULL;
	JsonbValue *res;
	JsonbValue	v;
	Jsonb	   *old_erased = NULL;
	HeapTuple	result;
	Datum		d;
	int			f;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(5))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rowkeeper._audit_erase(): entry and erasure record must not be NULL"),
				 errhint("This function is internal to rowkeeper.")));
	desc = arg_tuple(fcinfo, 0, &tuple, &map);
	if (map->erased == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("the audit entry has no column \"erased\""),
				 errhint("Run ALTER EXTENSION rowkeeper UPDATE.")));
	salt = arg_salt(fcinfo, 1);
	memset(&st, 0, sizeof(st));
	st.salt = salt;
	read_erased(&st, &tuple, desc, map);
	hash_begin();

	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(&tuple, desc, values, nulls);
	if (!nulls[map->erased - 1])
		old_erased = DatumGetJsonbP(values[map->erased - 1]);

	for (f = 0; f < N_CHAIN_FIELDS; f++)
	{
		int			a = map->attnum[f] - 1;
		uint8		c[RK_SHA256_LENGTH];
		uint8		s[SALT_LEN];

		if (chain_fields[f].kind == 'i')
		{
			if (!nulls[a])
				values[a] = JsonbPGetDatum(erase_image(&st, f, DatumGetJsonbP(values[a]),
													   columns));
			continue;
		}
		if (chain_fields[f].kind != 'v')
			continue;
		if (map_lookup(st.c_map, f, NULL, 0, c, RK_SHA256_LENGTH))
		{
			add_item(&st, f, NULL, 0, true, c);		/* erased before */
			continue;
		}
		if (nulls[a])
			continue;
		value_salt(&st, f, NULL, 0, s);
		if (!identity)
		{
			add_item(&st, f, NULL, 0, false, s);
			continue;
		}
		{
			StringInfoData enc;

			initStringInfo(&enc);
			append_datum(&enc, chain_fields[f].type, values[a]);
			commit_value(s, &enc, c);
			add_item(&st, f, NULL, 0, true, c);
			pfree(enc.data);
		}
		switch (f)
		{
			case CF_ACTOR:
				values[a] = pseudonym ? PointerGetDatum(pseudonym) :
					CStringGetTextDatum(ERASED_MARKER);
				break;
			case CF_REQUEST_ADDR:
				nulls[a] = true;
				break;
			case CF_USER_AGENT:
				values[a] = CStringGetTextDatum(ERASED_MARKER);
				break;
			case CF_METADATA:
				values[a] = DirectFunctionCall1(jsonb_in,
												CStringGetDatum("\"" ERASED_MARKER "\""));
				break;
		}
	}

	/* the new "erased": other keys kept, by + the new record, c, s */
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	push_string(&state, WJB_KEY, "by", 2);
	pushJsonbValue(&state, WJB_BEGIN_ARRAY, NULL);
	if (old_erased != NULL)
	{
		JsonbValue	byv;

		if (JsonContainerIsObject(&old_erased->root) &&
			getKeyJsonValueFromContainer(&old_erased->root, "by", 2, &byv) &&
			byv.type == jbvBinary && JsonContainerIsArray(byv.val.binary.data))
		{
			JsonbIterator *it = JsonbIteratorInit(byv.val.binary.data);
			JsonbIteratorToken r;

			while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
				if (r == WJB_ELEM)
					pushJsonbValue(&state, WJB_ELEM, &v);
		}
	}
	v.type = jbvNumeric;
	v.val.numeric = DatumGetNumeric(DirectFunctionCall1(int8_numeric,
														PG_GETARG_DATUM(5)));
	pushJsonbValue(&state, WJB_ELEM, &v);
	pushJsonbValue(&state, WJB_END_ARRAY, NULL);
	push_map(&state, &st, true);
	push_map(&state, &st, false);
	if (old_erased != NULL && JsonContainerIsObject(&old_erased->root))
	{
		JsonbIterator *it = JsonbIteratorInit(&old_erased->root);
		JsonbIteratorToken r;

		while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
		{
			if (r != WJB_KEY)
				continue;
			if ((v.val.string.len == 1 && (v.val.string.val[0] == 'c' || v.val.string.val[0] == 's')) ||
				(v.val.string.len == 2 && memcmp(v.val.string.val, "by", 2) == 0))
			{
				JsonbIteratorNext(&it, &v, true);
				continue;
			}
			pushJsonbValue(&state, WJB_KEY, &v);
			JsonbIteratorNext(&it, &v, true);
			pushJsonbValue(&state, WJB_VALUE, &v);
		}
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	values[map->erased - 1] = JsonbPGetDatum(JsonbValueToJsonb(res));
	nulls[map->erased - 1] = false;

	hash_end();
	result = heap_form_tuple(desc, values, nulls);
	d = heap_copy_tuple_as_datum(result, desc);
	ReleaseTupleDesc(desc);
	PG_RETURN_DATUM(d);
}
