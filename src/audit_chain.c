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
 *	  differ).  Integers, oids and transaction ids in decimal; logged_at as
 *	  microseconds since 2000-01-01 UTC (no time zone or DateStyle
 *	  involved); text in UTF-8; jsonb in its canonical text form (keys
 *	  sorted; 1 and 1.0 differ, as they differ in the log); inet in its
 *	  text form.  The digest is SHA-256, PostgreSQL's own implementation.
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
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
#include "utils/xid8.h"

#include "compat.h"

PG_FUNCTION_INFO_V1(audit_entry_digest);

/* The columns, in encoding order, with the type each must have. */
static const struct
{
	const char *name;
	Oid			type;
}			chain_fields[] =
{
	{"id", INT8OID},
	{"logged_at", TIMESTAMPTZOID},
	{"txid", XID8OID},
	{"table_oid", OIDOID},
	{"schema_name", TEXTOID},
	{"table_name", TEXTOID},
	{"op", TEXTOID},
	{"row_key", JSONBOID},
	{"old_key", JSONBOID},
	{"old_row", JSONBOID},
	{"new_row", JSONBOID},
	{"actor", TEXTOID},
	{"db_user", TEXTOID},
	{"role_user", TEXTOID},
	{"session_user_name", TEXTOID},
	{"client_addr", INETOID},
	{"application_name", TEXTOID},
	{"request_id", TEXTOID},
	{"tenant", TEXTOID},
	{"row_ref", INT8OID},
	{"table_id", INT8OID},
	{"request_addr", INETOID},
	{"user_agent", TEXTOID},
	{"metadata", JSONBOID},
};

#define N_CHAIN_FIELDS ((int) lengthof(chain_fields))

/* Attribute numbers of the fields in the row type seen last (fn_extra). */
typedef struct ChainMap
{
	Oid			typid;
	int32		typmod;
	AttrNumber	attnum[N_CHAIN_FIELDS];
} ChainMap;

static ChainMap *
chain_map(FunctionCallInfo fcinfo, TupleDesc desc, Oid typid, int32 typmod)
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
		if (map->attnum[f] == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("the audit entry has no column \"%s\"", chain_fields[f].name),
					 errhint("Pass a row of rowkeeper.audit_log.")));
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

	map = chain_map(fcinfo, desc, typid, typmod);
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "rowkeeper-audit-v1;");
	for (f = 0; f < N_CHAIN_FIELDS; f++)
	{
		bool		isnull;
		Datum		value = heap_getattr(&tuple, map->attnum[f], desc, &isnull);

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
