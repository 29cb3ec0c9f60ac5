/*-------------------------------------------------------------------------
 *
 * rowjson.h
 *	  Row images as typed jsonb (see rowjson.c).
 *
 * Copyright (c) 2026, rowkeeper developers
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

/* One key and value of an object built by rk_json_object(). */
typedef struct RkJsonPair
{
	const char *key;
	int			keylen;
	JsonbValue	value;			/* a scalar, or jbvBinary for a container */
} RkJsonPair;

extern void rk_json_column_init(RkJsonColumn *col, Oid typid,
								MemoryContext mcxt);
extern void rk_json_value(const RkJsonColumn *col, Datum value, bool isnull,
						  JsonbValue *v);
extern void rk_json_string(const char *str, JsonbValue *v);
extern int	rk_json_key_cmp(const char *a, int alen, const char *b, int blen);
extern Jsonb *rk_json_object(const RkJsonPair *pairs, int npairs);

#endif							/* ROWKEEPER_ROWJSON_H */
