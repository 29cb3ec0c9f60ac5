/*-------------------------------------------------------------------------
 *
 * rowjson.h
 *	  Row images as typed jsonb (see rowjson.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef ROWKEEPER_ROWJSON_H
#define ROWKEEPER_ROWJSON_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "utils/jsonb.h"

/* How one column is converted; resolved once per column per statement. */
typedef enum RkJsonKind
{
	RKJ_BOOL,
	RKJ_INT,					/* int2, int4, int8 */
	RKJ_FLOAT,					/* float4, float8 */
	RKJ_NUMERIC,
	RKJ_TEXT,					/* text, varchar, bpchar: bytes as they are */
	RKJ_JSONB,
	RKJ_JSON,
	RKJ_DATETIME,				/* date, timestamp, timestamptz: ISO 8601 */
	RKJ_OTHER					/* the type's output function, as a string */
} RkJsonKind;

typedef struct RkJsonColumn
{
	RkJsonKind	kind;
	Oid			typid;			/* base type for RKJ_DATETIME */
	FmgrInfo	output;			/* for RKJ_OTHER */
} RkJsonColumn;

/* The string that stands for a redacted value in every image. */
#define RK_REDACTED "[redacted]"

extern void rk_json_column_init(RkJsonColumn *col, Oid typid,
								MemoryContext mcxt);
extern void rk_json_push_value(JsonbParseState **state,
							   const RkJsonColumn *col,
							   Datum value, bool isnull);
extern void rk_json_push_key(JsonbParseState **state, const char *key);
extern void rk_json_push_string(JsonbParseState **state, const char *str);

#endif							/* ROWKEEPER_ROWJSON_H */
