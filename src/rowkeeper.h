/*-------------------------------------------------------------------------
 *
 * rowkeeper.h
 *	  Declarations shared between rowkeeper's C files.  Each capability
 *	  lives in its own file (see the header comment of each); this header
 *	  only carries what crosses file boundaries.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef ROWKEEPER_H
#define ROWKEEPER_H

#include "postgres.h"

#include "compat.h"
#include "names.h"

#include "commands/trigger.h"
#include "datatype/timestamp.h"
#include "fmgr.h"
#include "nodes/plannodes.h"
#include "utils/guc.h"
#include "utils/relcache.h"

/* guc.h: every rowkeeper.* setting (defined in guc.c) */

/* context.c: the request context (rowkeeper.actor, ...) */
extern const char *rk_context_actor(void);
extern const char *rk_context_tenant(void);
extern const char *rk_context_request_id(void);
extern const char *rk_context_client_addr(void);
extern const char *rk_context_user_agent(void);
extern const char *rk_context_metadata(void);

/* migration.c: the table owner's migrations past FORCE RLS (hook) */
extern void rk_migration_init(void);

/* run_as.c: code run with another role's rights, restricted */
extern bool rk_can_act_as(Oid role);
extern Datum rk_call_restricted(FunctionCallInfo fcinfo, Oid role,
								const char *body_name);

/* soft_delete.c: the transaction's deletion batch id, who deletes */
extern int64 rk_soft_delete_next_batch(void);
extern text *rk_soft_delete_who(void);
extern bool rk_soft_delete_hard_deleting(void);
extern bool rk_soft_delete_hard_deleting_rel(Oid relid);
extern bool rk_soft_delete_current_batch(int64 *batch);
extern bool rk_soft_delete_visible(Oid relid);
extern void rk_soft_delete_init(void);
extern bool rk_soft_delete_referenced(TriggerDesc *trigdesc);
extern bool rk_soft_delete_cascade_missing(Relation rel);
extern void rk_soft_delete_cascade_missing_error(const char *relname);

/* soft_delete_rewrite.c: the DELETE-as-UPDATE fast path (hooks, GUC) */
extern void rk_soft_delete_rewrite_init(void);
extern bool rk_soft_delete_plan_marks(PlannedStmt *stmt);

/* citus.c */
extern bool rk_citus_resending;
extern void rk_citus_init(void);
extern void rk_citus_sync(void);
extern bool rk_citus_coordinator_time(TimestampTz *ts);
extern bool rk_citus_shard_of(Oid relid, Oid *logical, bool *log_here);
extern bool rk_citus_named_shard(const char *relname, const char *tgname);
extern bool rk_citus_coordinator_batch(int64 *batch);
extern bool rk_citus_coordinator_hard_delete(void);
extern bool rk_citus_active(void);
extern bool rk_citus_table(Oid relid);
extern bool rk_citus_receives_only(void);


/*
 * catalog_util.c: options stored as key=value trigger arguments.  An
 * RkTriggerArgs names the trigger being parsed and what its arguments
 * should look like, for the error a malformed argument raises.
 */
typedef struct RkTriggerArgs
{
	Trigger    *trigger;
	Relation	rel;
	const char *usage;			/* errdetail: the accepted arguments */
	const char *enable_fn;		/* the function that creates the trigger */
} RkTriggerArgs;

/* catalog_util.c: rowkeeper's own objects, by the names in names.h */
extern Oid	rk_schema_oid(bool missing_ok);
extern Oid	rk_own_relid(const char *relname, bool missing_ok);
extern List *rk_own_name(const char *name);
extern bool rk_trigger_is(const char *tgname, const char *name);

rk_noreturn extern void rk_bad_trigger_argument(const RkTriggerArgs *ta,
												const char *arg);
extern const char *rk_option_value(const char *arg, const char *key);
extern bool rk_option_bool(const RkTriggerArgs *ta, const char *arg,
						   const char *value);

#endif							/* ROWKEEPER_H */
