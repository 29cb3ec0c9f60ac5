/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  Citus integration: the tenant context reaches the worker nodes, and
 *	  the coordinator and the workers never disagree about it; the
 *	  coordinator's transaction start reaches them too (the time of audit
 *	  entries and of updated_at on the shards); and which Citus table a
 *	  shard belongs to, for the audit trigger (rk_citus_shard_of()).
 *
 *	  On a Citus cluster the rows live in shards on the workers; the
 *	  workers evaluate the row-level security policies (Citus copies them to
 *	  every shard, see src/sql/30_tenant.sql for why their meaning does
 *	  not depend on AS RESTRICTIVE), so the workers call current_tenant()
 *	  and read their own rowkeeper.tenant.  Citus sends a setting to the
 *	  workers only for SET LOCAL run through the utility path while
 *	  citus.propagate_set_commands = 'local' (then to the connections that
 *	  take part in the transaction and, replayed after BEGIN, to every one
 *	  opened later).  set_config(), a session SET, a function's SET clause
 *	  are not sent at all, and Citus forgets a SET LOCAL made in a
 *	  subtransaction when the subtransaction commits (RELEASE SAVEPOINT, a
 *	  PL/pgSQL block with EXCEPTION), although the value stays in effect:
 *	  connections opened afterwards would see the value from before.
 *
 *	  So rowkeeper does not rely on how the tenant was set.  It remembers
 *	  the value it knows the workers have (sent[]: what a connection opened
 *	  now would get), and before anything can reach a worker (the start of
 *	  every executor run, every COPY and CALL, and at the end of
 *	  set_context()) compares it with rowkeeper.tenant; when they differ (or
 *	  rowkeeper cannot know, after a SET or RESET it did not issue) it runs
 *	  SET LOCAL rowkeeper.tenant = <current value> through the utility path,
 *	  with citus.propagate_set_commands = 'local' for that one statement,
 *	  which Citus sends to the open connections and replays on new ones.
 *	  The remembered value follows Citus's bookkeeping: it is saved when a
 *	  subtransaction starts and put back when it ends (commit or abort), and
 *	  forgotten at the end of the transaction.  rowkeeper.actor and
 *	  rowkeeper.request_id travel the same way (for what triggers on the
 *	  shards record).  The cost is one string comparison per setting and
 *	  executor start, one SET LOCAL of the tenant and one of the
 *	  transaction start per transaction, and one per change of a setting.
 *
 *	  rowkeeper.coordinator_xact_start carries the coordinator's
 *	  transaction start (sent once per transaction, like the tenant).  On
 *	  a worker it is used only in backends Citus opened (application_name
 *	  citus_internal...), where it is SET LOCAL in the transaction, so a
 *	  pooled connection never keeps an earlier transaction's.  An
 *	  application connected straight to a worker could set it (and backdate
 *	  its own entries there) as it could write the shards directly: keep
 *	  applications on the coordinator.
 *
 *	  Fail closed.  Outside a transaction block (and a DO block or
 *	  procedure) Citus sends nothing: the workers then have no tenant and
 *	  every query on an isolated table fails with "no tenant is set".  An
 *	  empty tenant is sent too ('' : no tenant).  A tenant set while
 *	  rowkeeper was not yet loaded in the coordinator's backend cannot be
 *	  seen: preflight() fails unless rowkeeper is preloaded on a Citus node.
 *
 *	  Limits.  A query that itself changes rowkeeper.tenant on the shards
 *	  (set_config() pushed down to the workers, a distributed function) is
 *	  not seen by the coordinator; in context mode that grants nothing
 *	  set_context() would not.  The workers do not verify tenant tokens:
 *	  token mode is set on the coordinator, and the workers accept what it
 *	  sends.
 *
 *	  In the backends Citus opens, rowkeeper.actor, .request_id and
 *	  .show_deleted, like the coordinator_* settings, take a value only
 *	  from a SET statement (check hooks below): a set_config() pushed down
 *	  to a shard would stay in a worker connection Citus keeps.  The
 *	  coordinator_* settings count only in those backends.
 *
 *	  Nothing here runs unless Citus is loaded in the backend (it must be
 *	  first in shared_preload_libraries, so it is loaded before rowkeeper).
 *	  Backends that Citus itself opens on a worker (application_name
 *	  citus_internal...) only receive the tenant; they do not resend it.
 *	  On the coordinator that name counts for nothing (any session can take
 *	  it): there rowkeeper always sends.  The three coordinator_* settings
 *	  take a value only from a SET statement (rk_citus_internal_setting_check()),
 *	  so a query pushed down to a shard cannot change what the worker
 *	  checks the marking and logs the time against.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "compat.h"
#include "guc.h"
#include "rowkeeper.h"

/* Is Citus loaded in this backend?  Decided once, in rk_citus_init(). */
static bool rk_citus_loaded = false;

/*
 * True while rk_citus_sync() resends the context: the check hook of
 * rowkeeper.tenant lets that assignment through in token mode (it sets
 * the value already in effect, transaction-locally).
 */
bool		rk_citus_resending = false;

/*
 * The settings sent to the workers.  The tenant and the transaction start
 * are sent once in every transaction, even when empty (see
 * rk_citus_sync()); the others when they differ from what was sent, or,
 * the first time in a transaction, from their default:
 *	- actor and request id: recorded by triggers on the shards;
 *	- rowkeeper.coordinator_xact_start: the coordinator's transaction
 *	  start (microseconds since 2000-01-01, as text); the audit trigger on
 *	  a shard logs it as logged_at, and updated_at writes it, so that one
 *	  distributed transaction carries one time (rk_citus_coordinator_time());
 *	- rowkeeper.show_deleted: who sees soft-deleted rows is decided on
 *	  the shards, where the rows are;
 *	- rowkeeper.coordinator_soft_delete_batch: the transaction's
 *	  soft-delete batch id, allocated before a soft DELETE starts, which
 *	  a worker requires in the marking UPDATE it receives
 *	  (soft_delete_rewrite.c, sdr_shard_marking());
 *	- rowkeeper.coordinator_hard_delete: "on" while rowkeeper.hard_delete()
 *	  runs its DELETE; a worker then lets the table's owner, and only the
 *	  owner, past the soft-delete guard (soft_delete.c).
 */
#define RK_NSETTINGS 7
static const char *const setting_names[RK_NSETTINGS] = {
	"rowkeeper.tenant", "rowkeeper.actor", "rowkeeper.request_id",
	"rowkeeper.coordinator_xact_start", "rowkeeper.show_deleted",
	"rowkeeper.coordinator_soft_delete_batch", "rowkeeper.coordinator_hard_delete"
};
#define RK_TENANT 0
#define RK_ACTOR 1
#define RK_REQUEST_ID 2
#define RK_XACT_START 3
#define RK_SHOW_DELETED 4
#define RK_BATCH 5
#define RK_HARD_DELETE 6

static char value_buf[32];

/*
 * What the workers are known to get, per setting: NULL when nothing was
 * sent in this transaction, RK_UNKNOWN when a SET/RESET may have sent
 * something rowkeeper did not see, else the value (in
 * TopTransactionContext).
 */
static const char rk_unknown_marker[] = "<unknown>";

#define RK_UNKNOWN ((char *) rk_unknown_marker)
static char *sent[RK_NSETTINGS];

/* sent[] of each open subtransaction, innermost first */
typedef struct SentStack
{
	SubTransactionId subid;
	char	   *sent[RK_NSETTINGS];
	struct SentStack *next;
} SentStack;
static SentStack *sent_stack = NULL;

static ExecutorStart_hook_type prev_executor_start = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

/* The index of a context setting in setting_names[], or -1. */
static int
setting_index(const char *name)
{
	int			i;

	for (i = 0; name != NULL && i < RK_NSETTINGS; i++)
		if (pg_strcasecmp(name, setting_names[i]) == 0)
			return i;
	return -1;
}

/* The current value of a setting, "" when unset. */
static const char *
current_value(int i)
{
	const char *v = NULL;
	int64		batch;

	switch (i)
	{
		case RK_TENANT:
			v = rk_context_tenant();
			break;
		case RK_ACTOR:
			v = rk_context_actor();
			break;
		case RK_REQUEST_ID:
			v = rk_context_request_id();
			break;
		case RK_XACT_START:
			snprintf(value_buf, sizeof(value_buf), INT64_FORMAT,
					 (int64) GetCurrentTransactionStartTimestamp());
			return value_buf;
		case RK_SHOW_DELETED:
			return rk_show_deleted ? "on" : "off";
		case RK_BATCH:
			if (!rk_soft_delete_current_batch(&batch))
				return "";
			snprintf(value_buf, sizeof(value_buf), INT64_FORMAT, batch);
			return value_buf;
		case RK_HARD_DELETE:
			return rk_soft_delete_hard_deleting() ? "on" : "";
	}
	return v != NULL ? v : "";
}

/*
 * Whether the batch or hard-delete setting (whose value rowkeeper derives
 * from its own state) holds something else than that state in this
 * backend: a session-level SET made before the transaction, which Citus
 * would replay on the workers and which no SET LOCAL of rowkeeper has
 * overridden yet.  Then it is sent, overriding it.
 */
static bool
setting_forged(int i, const char *cur)
{
	const char *v = GetConfigOption(setting_names[i], true, false);

	return v != NULL && strcmp(v, cur) != 0;
}

/* Whether setting i must be sent now. */
static bool
needs_send(int i)
{
	const char *cur = current_value(i);

	if (sent[i] == NULL)
		return i == RK_TENANT || i == RK_XACT_START ||
			strcmp(cur, i == RK_SHOW_DELETED ? "off" : "") != 0 ||
			((i == RK_BATCH || i == RK_HARD_DELETE) && setting_forged(i, cur));
	return sent[i] == RK_UNKNOWN || strcmp(sent[i], cur) != 0;
}

/* A backend Citus opened to run its shard queries on this node. */
static bool
is_citus_internal_backend(void)
{
	const char *app = application_name;

	return app != NULL && strncmp(app, "citus_internal", strlen("citus_internal")) == 0;
}

/*
 * Is this node a Citus worker (its group id in pg_dist_local_group is not
 * the coordinator's, 0)?  A worker's answer is kept for the backend; 0 is
 * asked again (a node gets its group id when it is added to a cluster).
 */
static int32 local_group = 0;
static bool asking_group = false;	/* the query below runs: no sync in it */

static bool
is_worker_node(void)
{
	bool		isnull = true;
	Datum		d;

	if (local_group > 0)
		return true;
	asking_group = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT groupid FROM pg_catalog.pg_dist_local_group", true, 1) == SPI_OK_SELECT &&
			SPI_processed == 1)
		{
			d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			if (!isnull)
				local_group = DatumGetInt32(d);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		asking_group = false;
	}
	PG_END_TRY();
	return local_group > 0;
}

/*
 * A backend that only receives the context: one Citus opened on a worker.
 * Its application_name says so, but any client can take that name, so on
 * the coordinator (group 0) it counts for nothing: there the context is
 * always sent (an application posing as Citus's backend would otherwise
 * keep rowkeeper from overriding the values it SETs and Citus passes on).
 */
static bool
receives_only(void)
{
	return is_citus_internal_backend() && is_worker_node();
}

/*
 * For the other capabilities: is this a backend Citus opened on a worker
 * (see receives_only())?  There the shards' triggers and policies come
 * from the coordinator; rowkeeper makes none of its own.
 */
bool
rk_citus_receives_only(void)
{
	return rk_citus_loaded && receives_only();
}

/*
 * Send the context (see the header) unless the workers are known to have
 * it.  The tenant is sent once in every transaction even when empty: a
 * worker connection that Citus keeps open across transactions may hold a
 * session-level value (a set_config(..., false) pushed down to a shard),
 * and the SET LOCAL that Citus replays after each remote BEGIN overrides
 * it.
 */
void
rk_citus_sync(void)
{
	bool		todo[RK_NSETTINGS];
	bool		any = false;
	int			nest;
	int			i;

	/*
	 * In parallel mode no setting can change, so the values were sent
	 * before the parallel operation started (this runs before it is
	 * entered).
	 */
	if (!rk_citus_loaded || rk_citus_resending || asking_group || IsInParallelMode() ||
		!IsTransactionState() || receives_only())
		return;

	for (i = 0; i < RK_NSETTINGS; i++)
		any |= (todo[i] = needs_send(i));
	if (!any)
		return;

	nest = NewGUCNestLevel();
	rk_citus_resending = true;
	PG_TRY();
	{
		(void) set_config_option("citus.propagate_set_commands", "local",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		for (i = 0; i < RK_NSETTINGS; i++)
		{
			char	   *cmd;
			int			ret;

			if (!todo[i])
				continue;
			cmd = psprintf("SET LOCAL %s = %s", setting_names[i],
						   quote_literal_cstr(current_value(i)));
			ret = SPI_execute(cmd, false, 0);
			if (ret != SPI_OK_UTILITY)
				elog(ERROR, "could not send %s to the Citus workers: %s",
					 setting_names[i], SPI_result_code_string(ret));
			pfree(cmd);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		rk_citus_resending = false;
	}
	PG_END_TRY();
	/* keeps the SET LOCALs of the context, undoes the one of Citus */
	AtEOXact_GUC(true, nest);

	for (i = 0; i < RK_NSETTINGS; i++)
		if (todo[i])
			sent[i] = MemoryContextStrdup(TopTransactionContext, current_value(i));
}

static void
rk_citus_executor_start(QueryDesc *queryDesc, int eflags)
{
	/* a soft DELETE: its batch id goes to the workers with the context */
	if (rk_soft_delete_plan_marks(queryDesc->plannedstmt))
		(void) rk_soft_delete_next_batch();
	rk_citus_sync();
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static void
rk_citus_process_utility(PlannedStmt *pstmt, const char *queryString,
						 RK_READONLY_TREE_PARAM ProcessUtilityContext context, ParamListInfo params,
						 QueryEnvironment *queryEnv, DestReceiver *dest,
						 QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;
	int			touched = -2;	/* -2: none, -1: all, else the setting */

	/* Citus runs COPY itself and may delegate CALL to a worker */
	if (IsA(stmt, CopyStmt) || IsA(stmt, CallStmt))
		rk_citus_sync();
	else if (IsA(stmt, VariableSetStmt))
	{
		VariableSetStmt *set = (VariableSetStmt *) stmt;

		if (set->kind == VAR_RESET_ALL)
			touched = -1;
		else if (setting_index(set->name) >= 0)
			touched = setting_index(set->name);
	}
	else if (IsA(stmt, DiscardStmt))
		touched = -1;

	if (prev_process_utility)
		prev_process_utility(pstmt, queryString, RK_READONLY_TREE_ARG
							 context, params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, RK_READONLY_TREE_ARG
								context, params, queryEnv, dest, qc);

	/*
	 * Citus may have sent this SET or RESET, or part of it: what the workers
	 * have is no longer known, so the next sync resends.  (Our own resend
	 * sets sent[] after this returns.)
	 */
	if (touched != -2 && !rk_citus_resending && IsTransactionState())
	{
		int			i;

		for (i = 0; i < RK_NSETTINGS; i++)
			if (touched == -1 || touched == i)
				sent[i] = RK_UNKNOWN;
	}
}

static void
rk_citus_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			/* the memory goes with TopTransactionContext */
			memset(sent, 0, sizeof(sent));
			sent_stack = NULL;
			break;
		default:
			break;
	}
}

/*
 * Mirror Citus: a subtransaction starts with what its parent sent, and
 * when it ends (commit included) new connections get the parent's list of
 * SET LOCALs again.
 */
static void
rk_citus_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	switch (event)
	{
		case SUBXACT_EVENT_START_SUB:
			{
				SentStack  *s = MemoryContextAlloc(TopTransactionContext,
												   sizeof(SentStack));

				s->subid = mySubid;
				memcpy(s->sent, sent, sizeof(sent));
				s->next = sent_stack;
				sent_stack = s;
				break;
			}
		case SUBXACT_EVENT_COMMIT_SUB:
		case SUBXACT_EVENT_ABORT_SUB:
			if (sent_stack != NULL && sent_stack->subid == mySubid)
			{
				SentStack  *s = sent_stack;

				memcpy(sent, s->sent, sizeof(sent));
				sent_stack = s->next;
				pfree(s);
			}
			else
			{
				int			i;

				for (i = 0; i < RK_NSETTINGS; i++)
					sent[i] = RK_UNKNOWN;
			}
			break;
		default:
			break;
	}
}

/*
 * Called from _PG_init.  Citus is listed first in shared_preload_libraries
 * on every node of a cluster, so it is either loaded already or not at all.
 */
void
rk_citus_init(void)
{
	const char *v;

	v = GetConfigOption("citus.propagate_set_commands", true, false);

	rk_citus_loaded = (v != NULL &&
					   !(GetConfigOptionFlags("citus.propagate_set_commands", true) &
						 GUC_CUSTOM_PLACEHOLDER));
	if (!rk_citus_loaded)
		return;

	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = rk_citus_executor_start;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = rk_citus_process_utility;
	RegisterXactCallback(rk_citus_xact_callback, NULL);
	RegisterSubXactCallback(rk_citus_subxact_callback, NULL);
}

/*
 * The coordinator's transaction start, when this backend runs a shard
 * query that Citus sent in a transaction of the coordinator (a backend
 * Citus opened, which received rowkeeper.coordinator_xact_start in this
 * transaction: the value is SET LOCAL, so never one of an earlier
 * transaction on a pooled connection).  False elsewhere: the local
 * transaction start is the time.
 */
bool
rk_citus_coordinator_time(TimestampTz *ts)
{
	char	   *end;
	int64		v;

	if (!rk_citus_loaded || rk_coordinator_xact_start == NULL ||
		rk_coordinator_xact_start[0] == '\0' || !is_citus_internal_backend())
		return false;
	errno = 0;
	v = strtoi64(rk_coordinator_xact_start, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0)
		return false;
	*ts = (TimestampTz) v;
	return true;
}

/*
 * The shard id in a name Citus gave a shard or a shard's trigger
 * (<name>_<shard id>), or 0 when the name does not end so.
 */
static int64
shard_suffix(const char *name)
{
	const char *us = name ? strrchr(name, '_') : NULL;
	char	   *end;
	int64		id;

	if (us == NULL || us[1] < '0' || us[1] > '9')
		return 0;
	errno = 0;
	id = strtoi64(us + 1, &end, 10);
	if (errno != 0 || *end != '\0')
		return 0;
	return id;
}

/*
 * Whether relname, whose trigger tgname fired, is a Citus shard whether or not
 * this backend can see it in the Citus metadata: Citus names a shard and
 * its copies of the table's triggers with the same _<shard id> suffix.
 * The metadata of a table being distributed is written on one worker
 * connection while Citus copies the table's rows into its shards over
 * others, in the same distributed transaction: there the shards are not
 * yet in pg_dist_shard, and a trigger that trusted only the metadata would
 * take a shard for a table of its own.
 */
bool
rk_citus_named_shard(const char *relname, const char *tgname)
{
	int64		id;

	if (!rk_citus_loaded)
		return false;
	id = shard_suffix(relname);
	return id > 0 && id == shard_suffix(tgname);
}

/*
 * Whether relid is a shard of a Citus table on this node (a placement: on
 * a worker, or the coordinator's copy of a reference table); if so, the
 * Citus table it belongs to (on a worker: the shell table Citus keeps
 * there) in *logical, and in *log_here whether this placement is the one
 * that logs its changes: the placement on the node with the lowest group
 * id among the shard's placements (the only one of a distributed table's
 * shard; for a reference table, copied to every node, the coordinator's
 * when the coordinator is in the metadata, else the first worker's).  A
 * shard is named <table>_<shard id>, in the table's schema.  Called once
 * per resolution of the audit trigger's configuration, not per row.
 */
bool
rk_citus_shard_of(Oid relid, Oid *logical, bool *log_here)
{
	const char *relname;
	int64		shardid;
	Oid			argtypes[3] = {OIDOID, INT8OID, TEXTOID};
	Datum		args[3];
	bool		found = false;
	int			rc;

	*logical = InvalidOid;
	*log_here = true;
	if (!rk_citus_loaded)
		return false;
	relname = get_rel_name(relid);
	shardid = shard_suffix(relname);
	if (shardid <= 0)
		return false;

	args[0] = ObjectIdGetDatum(get_rel_namespace(relid));
	args[1] = Int64GetDatum(shardid);
	args[2] = CStringGetTextDatum(relname);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'pg_dist_shard' "
					"AND relnamespace = 'pg_catalog'::pg_catalog.regnamespace", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		rc = SPI_execute_with_args(
			"SELECT s.logicalrelid::pg_catalog.oid,"
			"       coalesce((SELECT pg_catalog.min(p.groupid) FROM pg_catalog.pg_dist_placement p"
			"                  WHERE p.shardid = s.shardid)"
			"                = (SELECT g.groupid FROM pg_catalog.pg_dist_local_group g), true)"
			"  FROM pg_catalog.pg_dist_shard s"
			"  JOIN pg_catalog.pg_class c ON c.oid = s.logicalrelid"
			" WHERE s.shardid = $2 AND c.relnamespace = $1"
			"   AND c.relname::pg_catalog.text || '_' || s.shardid::pg_catalog.text = $3",
			3, argtypes, args, NULL, true, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "could not read the Citus metadata: %s", SPI_result_code_string(rc));
		if (SPI_processed == 1)
		{
			bool		isnull;

			*logical = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
													  SPI_tuptable->tupdesc, 1, &isnull));
			*log_here = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 2, &isnull));
			found = OidIsValid(*logical);
		}
	}
	SPI_finish();
	return found;
}

/*
 * The soft-delete batch id the coordinator sent for this transaction
 * (rowkeeper.coordinator_soft_delete_batch) to a backend Citus opened;
 * false if none, and in any other backend (the coordinator's own, where a
 * placement on the coordinator is changed, has the batch itself:
 * rk_soft_delete_current_batch()).
 */
bool
rk_citus_coordinator_batch(int64 *batch)
{
	char	   *end;

	if (!rk_citus_loaded || rk_coordinator_soft_delete_batch == NULL ||
		rk_coordinator_soft_delete_batch[0] == '\0' || !is_citus_internal_backend())
		return false;
	errno = 0;
	*batch = strtoi64(rk_coordinator_soft_delete_batch, &end, 10);
	return errno == 0 && *end == '\0';
}

/*
 * Whether the coordinator runs rowkeeper.hard_delete() in this
 * transaction's current statement (rowkeeper.coordinator_hard_delete).
 * Anyone can SET it; soft_delete.c honours it only for the table's owner,
 * who may hard-delete anyway (a foreign key's ON DELETE CASCADE runs as
 * the referencing table's owner, though).  So, like the batch above, it
 * counts only in a backend Citus opened, where the coordinator sends it
 * in every transaction that may read it (rk_citus_sync()); in any other
 * backend rowkeeper's own state says whether hard_delete() runs.
 */
bool
rk_citus_coordinator_hard_delete(void)
{
	return rk_citus_loaded && rk_coordinator_hard_delete != NULL &&
		strcmp(rk_coordinator_hard_delete, "on") == 0 && is_citus_internal_backend();
}

/*
 * Check hook of rowkeeper.coordinator_xact_start, .coordinator_soft_delete_batch
 * and .coordinator_hard_delete.  A worker trusts them as the coordinator's
 * (the marking it accepts, the time it logs), so only the coordinator may
 * give them a value there: a SET statement of its own (Citus replays the
 * SET LOCAL that rk_citus_sync() ran, at the top level of the worker's
 * connection).  Refused: an assignment while a query runs (set_config() in
 * a query that Citus pushes down to a shard would change them in the
 * worker's backend, under the coordinator's nose; a function's SET clause,
 * a SET inside a function, DO or CALL: anything that runs with an active
 * snapshot), and a default of a role or database (ALTER ROLE ... SET, which
 * Citus propagates to the workers, where the coordinator does not override
 * a setting it has no value for).  The empty value (nothing sent) is always
 * accepted: it makes a shard trust nothing.  Parallel workers copy the
 * leader's values.  A client connected straight to a worker can still SET
 * them at the top level (see the header: keep applications on the
 * coordinator).
 */
bool
rk_citus_internal_setting_check(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' || source == PGC_S_DEFAULT ||
		rk_citus_resending || IsParallelWorker() || InitializingParallelWorker)
		return true;
	if (source < PGC_S_SESSION)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("rowkeeper's internal Citus settings cannot have a default");
		GUC_check_errdetail("They carry what a Citus coordinator sends its workers for one transaction.");
		GUC_check_errhint("Remove the setting from ALTER ROLE/DATABASE ... SET, the connection options or the function.");
		return false;
	}
	if (ActiveSnapshotSet())
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("rowkeeper's internal Citus settings can only be set by a SET statement");
		GUC_check_errdetail("They carry what a Citus coordinator sends its workers; a query, function or procedure may not change them.");
		GUC_check_errhint("Do not set them: rowkeeper sends them from the coordinator.");
		return false;
	}
	return true;
}

/*
 * Check hook of rowkeeper.actor and rowkeeper.request_id, and the same for
 * rowkeeper.show_deleted: in a backend Citus opened (application_name
 * citus_internal...), a value may come only from a SET statement (the
 * coordinator's SET LOCAL, which Citus replays), not from a query.  A
 * set_config(..., false) that Citus pushes down to a shard would otherwise
 * stay in the worker connection Citus keeps open, and a later transaction
 * that leaves the setting at its default (which the coordinator does not
 * send) would record that value: behind a connection pooler, another
 * client's.  Everywhere else nothing changes.
 */
static bool
context_setting_ok(GucSource source)
{
	/* PGC_S_TEST: only validating (a function's SET clause being created) */
	if (source == PGC_S_TEST || !rk_citus_loaded || rk_citus_resending || !is_citus_internal_backend() ||
		!ActiveSnapshotSet() || IsParallelWorker() || InitializingParallelWorker)
		return true;
	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("this setting cannot be changed by a query in a connection Citus opened");
	GUC_check_errdetail("On a Citus worker it carries what the coordinator sends for each transaction.");
	GUC_check_errhint("Set it on the coordinator, with rowkeeper.set_context() or SET LOCAL, not in a query that runs on the shards.");
	return false;
}

bool
rk_citus_context_setting_check(char **newval, void **extra, GucSource source)
{
	return context_setting_ok(source);
}

bool
rk_citus_context_bool_check(bool *newval, void **extra, GucSource source)
{
	return context_setting_ok(source);
}

/* Is Citus loaded in this backend? */
bool
rk_citus_active(void)
{
	return rk_citus_loaded;
}

/*
 * Is relid a Citus table (distributed, reference, schema-sharded) in this
 * database?  One catalog query; for the rare paths that must know (not per
 * row or per statement).
 */
bool
rk_citus_table(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	bool		found = false;

	if (!rk_citus_loaded)
		return false;
	args[0] = ObjectIdGetDatum(relid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_class WHERE relname = 'pg_dist_partition' "
					"AND relnamespace = 'pg_catalog'::pg_catalog.regnamespace", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1 &&
		SPI_execute_with_args("SELECT 1 FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1",
							  1, argtypes, args, NULL, true, 1) == SPI_OK_SELECT)
		found = SPI_processed == 1;
	SPI_finish();
	return found;
}
