/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Version shims: the one place where rowkeeper copes with differences
 *	  between PostgreSQL major versions (13 to 17).  Code elsewhere calls
 *	  the rk_* spellings below and never tests PG_VERSION_NUM itself.
 *
 *	  Only PostgreSQL 15 is built and tested on our machines; the other
 *	  branches follow the documented server API of their version.
 *
 *-------------------------------------------------------------------------
 */
#ifndef ROWKEEPER_COMPAT_H
#define ROWKEEPER_COMPAT_H

#include "postgres.h"
#include "utils/datetime.h"

#if PG_VERSION_NUM < 130000
#error "rowkeeper requires PostgreSQL 13 or later"
#endif

/*
 * Round a timestamp to a column's declared precision (timestamp(3) etc).
 * PostgreSQL 16 added a soft-error context argument.
 */
#if PG_VERSION_NUM >= 160000
#define rk_adjust_timestamp_typmod(ts, typmod) \
	((void) AdjustTimestampForTypmod((ts), (typmod), NULL))
#else
#define rk_adjust_timestamp_typmod(ts, typmod) \
	AdjustTimestampForTypmod((ts), (typmod))
#endif

/*
 * Reserving our GUC prefix: MarkGUCPrefixReserved appeared in 15; before
 * that EmitWarningsOnPlaceholders did the (weaker) job.
 */
#if PG_VERSION_NUM >= 150000
#define rk_reserve_guc_prefix(prefix) MarkGUCPrefixReserved(prefix)
#else
#define rk_reserve_guc_prefix(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

/*
 * HMAC (common/hmac.h, for tenant tokens) is in the server from 14 on;
 * on 13 set_tenant_token() reports that it is not supported.
 */
#if PG_VERSION_NUM >= 140000
#define RK_HAVE_HMAC 1
#endif

#endif							/* ROWKEEPER_COMPAT_H */
