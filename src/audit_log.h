/*-------------------------------------------------------------------------
 *
 * audit_log.h
 *	  Writing rows into rowkeeper.audit_log (see audit_log.c).
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef ROWKEEPER_AUDIT_LOG_H
#define ROWKEEPER_AUDIT_LOG_H

#include "postgres.h"

#include "utils/jsonb.h"

/*
 * The columns the audit trigger supplies, in this order; the log's id comes
 * from its sequence.  audit_log.c maps them onto the target partition by
 * name, so the physical column order of a partition does not matter.
 */
typedef enum RkLogColumn
{
	RKL_LOGGED_AT,
	RKL_TXID,
	RKL_TABLE_OID,
	RKL_SCHEMA_NAME,
	RKL_TABLE_NAME,
	RKL_OP,
	RKL_ROW_KEY,
	RKL_OLD_KEY,
	RKL_OLD_ROW,
	RKL_NEW_ROW,
	RKL_ACTOR,
	RKL_DB_USER,
	RKL_ROLE_USER,
	RKL_SESSION_USER,
	RKL_CLIENT_ADDR,
	RKL_APPLICATION_NAME,
	RKL_REQUEST_ID,
	RKL_TENANT,
	RKL_ROW_REF,
	RKL_TABLE_ID,
	RKL_REQUEST_ADDR,
	RKL_USER_AGENT,
	RKL_METADATA,
	RKL_ERASED,					/* always NULL when written: see audit_chain.c */
	RKL_NCOLUMNS
} RkLogColumn;

/*
 * Opaque: keeps the target partition open across the rows of one call.  A
 * batching writer may hold rows back until rk_audit_log_close().
 */
typedef struct RkLogWriter RkLogWriter;

extern void rk_audit_log_init(void);
extern RkLogWriter *rk_audit_log_open(Oid log_owner, bool batching);
extern void rk_audit_log_write(RkLogWriter *w, Datum *values, bool *isnull);
extern void rk_audit_log_close(RkLogWriter *w);
extern int64 rk_audit_log_last_id(void);

/* The low 32 bits of row_ref for a row key (audit.c). */
extern uint32 rk_audit_key_bits(Jsonb *row_key);

/* row_ref as 0.2.0 computed it, from the names (compat_symbols.c). */
extern int64 rk_row_ref_0_2(text *schema_name, text *table_name, Jsonb *row_key);

#endif							/* ROWKEEPER_AUDIT_LOG_H */
