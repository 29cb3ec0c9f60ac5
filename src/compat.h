/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  Version shims: the one place where rowkeeper copes with differences
 *	  between PostgreSQL major versions (13 to 18).  Code elsewhere calls
 *	  the rk_* spellings below and never tests PG_VERSION_NUM itself.
 *
 *	  PostgreSQL 15, 17 and 18 are built and tested on our machines
 *	  (test/check.sh runs every suite on each); the 13, 14 and 16
 *	  branches follow the documented server API of their version.
 *
 * Copyright (c) 2026, rowkeeper developers
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
 * A function that never returns, as a prefix of its declaration.
 * PostgreSQL 18 removed the suffix form pg_attribute_noreturn() and added
 * the prefix pg_noreturn; GCC-style attributes may stand first as well.
 */
#if PG_VERSION_NUM >= 180000
#define rk_noreturn pg_noreturn
#else
#define rk_noreturn pg_attribute_noreturn()
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
 * A relation's partition descriptor.  PostgreSQL 14 added partitions being
 * detached concurrently, which we omit (and then leave routing to the
 * executor, see audit_log.c).
 */
#if PG_VERSION_NUM >= 140000
#define rk_partition_desc(rel) RelationGetPartitionDesc((rel), true)
#define rk_partdesc_has_detached(pd) ((pd)->detached_exist)
#else
#define rk_partition_desc(rel) RelationGetPartitionDesc(rel)
#define rk_partdesc_has_detached(pd) false
#endif

/*
 * One non-unique index entry.  PostgreSQL 14 added the indexUnchanged hint;
 * 17 added index_insert_cleanup(), which must follow the last insert made
 * with an IndexInfo (BRIN keeps state there).
 */
#if PG_VERSION_NUM >= 170000
#define rk_index_insert_cleanup(index, info) index_insert_cleanup((index), (info))
#else
#define rk_index_insert_cleanup(index, info) ((void) 0)
#endif
#if PG_VERSION_NUM >= 140000
#define rk_index_insert(index, values, isnull, tid, heap, info) \
	((void) index_insert((index), (values), (isnull), (tid), (heap), \
						 UNIQUE_CHECK_NO, false, (info)))
#else
#define rk_index_insert(index, values, isnull, tid, heap, info) \
	((void) index_insert((index), (values), (isnull), (tid), (heap), \
						 UNIQUE_CHECK_NO, (info)))
#endif

/*
 * SHA-256 of a buffer with PostgreSQL's own implementation (OpenSSL when
 * the server is built with it).  PostgreSQL 14 replaced the sha2.h calls
 * with the cryptohash API; 15 added the length argument of _final.
 */
#include "common/sha2.h"
#if PG_VERSION_NUM >= 140000
#include "common/cryptohash.h"
#endif

#define RK_SHA256_LENGTH PG_SHA256_DIGEST_LENGTH

static inline void
rk_sha256(const uint8 *data, size_t len, uint8 *dest)
{
#if PG_VERSION_NUM >= 140000
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, data, len) < 0 ||
#if PG_VERSION_NUM >= 150000
		pg_cryptohash_final(ctx, dest, PG_SHA256_DIGEST_LENGTH) < 0
#else
		pg_cryptohash_final(ctx, dest) < 0
#endif
		)
		elog(ERROR, "could not compute a SHA-256 digest");
	pg_cryptohash_free(ctx);
#else
	pg_sha256_ctx ctx;

	pg_sha256_init(&ctx);
	pg_sha256_update(&ctx, data, len);
	pg_sha256_final(&ctx, dest);
#endif
}

/*
 * This backend's local transaction id: PostgreSQL 17 moved it into
 * PGPROC.vxid.
 */
#if PG_VERSION_NUM >= 170000
#define rk_local_xid() (MyProc->vxid.lxid)
#else
#define rk_local_xid() (MyProc->lxid)
#endif

/*
 * HMAC (common/hmac.h, for tenant tokens) is in the server from 14 on;
 * on 13 set_tenant_token() reports that it is not supported.
 */
#if PG_VERSION_NUM >= 140000
#define RK_HAVE_HMAC 1
#endif

/*
 * Where a range table entry's permission checks live: PostgreSQL 16 moved
 * them from the RangeTblEntry into RTEPermissionInfo nodes of the query
 * (rteperminfos).  Both have requiredPerms and updatedCols.
 */
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
typedef RTEPermissionInfo RkPermInfo;
#define rk_query_perminfo(query, rte) getRTEPermissionInfo((query)->rteperminfos, (rte))
#else
#include "nodes/parsenodes.h"
typedef RangeTblEntry RkPermInfo;
#define rk_query_perminfo(query, rte) (rte)
#endif

/*
 * A Query built by hand keeps the permission infos its ParseState collected
 * (16 on; before, the permissions were in the range table entries).
 */
#if PG_VERSION_NUM >= 160000
#define rk_query_take_perminfos(query, pstate) \
	((query)->rteperminfos = (pstate)->p_rteperminfos)
#else
#define rk_query_take_perminfos(query, pstate) ((void) 0)
#endif

/*
 * Hook signatures.  PostgreSQL 14 added the JumbleState argument of
 * post_parse_analyze_hook and the readOnlyTree argument of
 * ProcessUtility_hook.  The _PARAM spellings go into a hook's parameter
 * list, the _ARG spellings into the call of the previous hook:
 *
 *	static void my_hook(ParseState *pstate, Query *query RK_JSTATE_PARAM);
 *	prev_hook(pstate, query RK_JSTATE_ARG);
 *	static void my_utility(PlannedStmt *pstmt, const char *queryString,
 *						   RK_READONLY_TREE_PARAM ProcessUtilityContext context, ...);
 *	prev_utility(pstmt, queryString, RK_READONLY_TREE_ARG context, ...);
 */
#if PG_VERSION_NUM >= 140000
#define RK_JSTATE_PARAM , JumbleState *jstate
#define RK_JSTATE_ARG , jstate
#define RK_READONLY_TREE_PARAM bool readOnlyTree,
#define RK_READONLY_TREE_ARG readOnlyTree,
#else
#define RK_JSTATE_PARAM
#define RK_JSTATE_ARG
#define RK_READONLY_TREE_PARAM
#define RK_READONLY_TREE_ARG
#endif

/*
 * May member SET ROLE to role?  PostgreSQL 16 made that a property of each
 * membership (the SET option) instead of membership itself.
 */
#if PG_VERSION_NUM >= 160000
#define rk_can_set_role(member, role) member_can_set_role((member), (role))
#else
#define rk_can_set_role(member, role) is_member_of_role((member), (role))
#endif

/*
 * The kind of object an ALTER TABLE statement names: PostgreSQL 14 renamed
 * AlterTableStmt.relkind to objtype.
 */
#if PG_VERSION_NUM >= 140000
#define rk_alter_table_objtype(stmt) ((stmt)->objtype)
#else
#define rk_alter_table_objtype(stmt) ((stmt)->relkind)
#endif

#endif							/* ROWKEEPER_COMPAT_H */
