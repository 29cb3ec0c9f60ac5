/*-------------------------------------------------------------------------
 *
 * purge.c
 *	  Settings, rights, locks and run records of the purge and retention
 *	  jobs.
 *
 *	  The purges themselves are procedures in the install script (cold
 *	  path: a batched DELETE loop with COMMITs between batches is SQL's
 *	  job).  This file owns what must not be left to the session running
 *	  them:
 *
 *	  - Who the work runs as.  Each batch and each dry run of a table purge
 *	  runs as the table's owner in a security-restricted operation
 *	  (run_as.c), one call per batch, so the owner's triggers never run
 *	  with the rights of a superuser or a pg_cron job, and cannot RESET
 *	  ROLE back to them.  The caller must be able to act as the owner.
 *
 *	  - The lock that keeps two runs of one purge apart.  It is held across
 *	  the run's COMMITs, so it is a session-level lock, but not an advisory
 *	  one (any role can take any advisory lock key and block the purge
 *	  forever): an object lock tagged (database, rowkeeper.purge_runs,
 *	  table, kind), which no SQL command takes (object locks carry a system
 *	  catalog's OID as class), so only _purge_lock() can, and only for a
 *	  caller that could run the purge itself.  It shows in pg_locks as
 *	  locktype "object" with classid = 'rowkeeper.purge_runs'::regclass.
 *
 *	  - The run records in rowkeeper.purge_runs.  They are written as that
 *	  table's owner (restricted operation), after checking the caller: a
 *	  record is started only by a role that may run that purge, and
 *	  updated only from the session that started it, which keeps the ids of
 *	  its runs in backend memory (claimed_runs): another session cannot
 *	  write it, whatever process id it gets.
 *
 *	  - rowkeeper.audit_min_retention, the
 *	  shortest retention purge_audit_log() accepts.  Only superusers can
 *	  change it (postgresql.conf, ALTER SYSTEM, ALTER DATABASE), so a
 *	  job role cannot shorten the audit trail's life by itself.
 *
 *	  The purge reads it through rowkeeper._audit_min_retention() (C), never
 *	  current_setting(): before the library is loaded, current_setting()
 *	  returns whatever any role SET or passed in PGOPTIONS to the
 *	  placeholder.  Calling a C function loads the library, which re-checks
 *	  such values with the privileges of whoever gave them and refuses them.
 *	  A refused connection option (PGOPTIONS) has already replaced the
 *	  configured value, which is then lost: that session fails closed, no
 *	  audit purge can run in it (as tenant.c does for tenant_mode).
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "guc.h"
#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(_audit_min_retention);
PG_FUNCTION_INFO_V1(_purge_batch);
PG_FUNCTION_INFO_V1(_purge_dry_run);
PG_FUNCTION_INFO_V1(_purge_run_start);
PG_FUNCTION_INFO_V1(_purge_run_update);
PG_FUNCTION_INFO_V1(_purge_lock);
PG_FUNCTION_INFO_V1(_purge_unlock);

/* Ids of the purge runs this session started (TopMemoryContext). */
static int64 *claimed_runs = NULL;
static int	n_claimed_runs = 0;
static int	max_claimed_runs = 0;

/* A value other than the boot value reached the check hook. */
static bool rk_min_retention_applied = false;

/* A value was given but refused while the variable was defined. */
static bool rk_min_retention_refused = false;

/* The value must read as a non-negative interval. */
bool
rk_purge_min_retention_check(char **newval, void **extra, GucSource source)
{
	Interval   *iv;
	Interval	zero = {0};

	if (source != PGC_S_DEFAULT)
		rk_min_retention_applied = true;
	if (*newval == NULL || (*newval)[0] == '\0')
	{
		GUC_check_errdetail("An interval is required, e.g. '30 days'.");
		return false;
	}
	iv = DatumGetIntervalP(DirectFunctionCall3(interval_in,
											   CStringGetDatum(*newval),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
	if (DatumGetInt32(DirectFunctionCall2(interval_cmp,
										  IntervalPGetDatum(iv),
										  IntervalPGetDatum(&zero))) < 0)
	{
		GUC_check_errdetail("The minimum retention cannot be negative.");
		return false;
	}
	return true;
}


/*
 * After rowkeeper.audit_min_retention is defined (guc.c): a value that
 * was waiting for the library but was not applied (a connection option of
 * a role that may not set it) makes this session refuse purges.
 */
void
rk_purge_min_retention_defined(bool value_waiting)
{
	if (value_waiting && !rk_min_retention_applied)
		rk_min_retention_refused = true;
}

/*
 * rowkeeper._audit_min_retention(): the minimum retention as an interval,
 * for purge_audit_log().  Errors out in a session whose configured value
 * was replaced by a connection option of a role that may not set it.
 */
Datum
_audit_min_retention(PG_FUNCTION_ARGS)
{
	if (rk_min_retention_refused)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("rowkeeper.audit_min_retention was given by a role that may not set it"),
				 errdetail("A value given before the library was loaded (SET, or a connection option that replaces the configured one) was refused; this session cannot tell what the configured minimum retention is."),
				 errhint("Connect without setting rowkeeper.audit_min_retention: only superusers can change it.")));
	PG_RETURN_DATUM(DirectFunctionCall3(interval_in,
										CStringGetDatum(rk_audit_min_retention),
										ObjectIdGetDatum(InvalidOid),
										Int32GetDatum(-1)));
}

/* The owner of a relation; an error if it is gone. */
static Oid
rk_rel_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * The owner of table tbl (argument argno), which the caller must be able to
 * act as: a purge deletes with the owner's rights.
 */
static Oid
rk_purge_owner(FunctionCallInfo fcinfo, int argno)
{
	Oid			tbl;
	Oid			owner;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the table of a purge must not be NULL")));
	tbl = PG_GETARG_OID(argno);
	owner = rk_rel_owner(tbl);
	if (!rk_can_act_as(owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be able to act as role \"%s\", the owner of table \"%s\"",
						GetUserNameFromId(owner, false), get_rel_name(tbl)),
				 errdetail("A purge deletes as the table's owner, so that the table's triggers never run with the rights of whoever schedules it."),
				 errhint("Run it as the owner, or as a role the owner role is granted to.")));
	return owner;
}

/* rowkeeper.purge_runs, and its owner (who writes the run records). */
static Oid
rk_purge_runs_relid(void)
{
	return rk_own_relid(RK_PURGE_RUNS, false);
}

/*
 * rowkeeper._purge_batch(tbl, ...): one batch of a table purge
 * (rowkeeper._purge_batch_body), as the table's owner.
 */
Datum
_purge_batch(PG_FUNCTION_ARGS)
{
	return rk_call_restricted(fcinfo, rk_purge_owner(fcinfo, 0), "_purge_batch_body");
}

/*
 * rowkeeper._purge_dry_run(tbl, ...): what a purge would delete
 * (rowkeeper._purge_dry_run_body), counted as the table's owner: the count
 * runs the table's equality operators and policies.
 */
Datum
_purge_dry_run(PG_FUNCTION_ARGS)
{
	return rk_call_restricted(fcinfo, rk_purge_owner(fcinfo, 0), "_purge_dry_run_body");
}

/*
 * rowkeeper._purge_run_start(kind, tbl, cutoff, options, run_by): start the
 * record of a run (rowkeeper._purge_run_start_body, as the owner of
 * purge_runs), for a caller that may run the purge of tbl, and remember
 * that this session owns it.  run_by is set here, whatever was passed.
 */
Datum
_purge_run_start(PG_FUNCTION_ARGS)
{
	Datum		run;
	MemoryContext old;

	(void) rk_purge_owner(fcinfo, 1);
	/* who runs it: the session user, and the role it acts as */
	if (GetUserId() == GetSessionUserId())
		fcinfo->args[4].value = CStringGetTextDatum(GetUserNameFromId(GetUserId(), false));
	else
		fcinfo->args[4].value =
			CStringGetTextDatum(psprintf("%s as %s",
										 GetUserNameFromId(GetSessionUserId(), false),
										 GetUserNameFromId(GetUserId(), false)));
	fcinfo->args[4].isnull = false;
	run = rk_call_restricted(fcinfo, rk_rel_owner(rk_purge_runs_relid()),
							 "_purge_run_start_body");
	if (fcinfo->isnull)
		elog(ERROR, "a purge run record was not created");
	old = MemoryContextSwitchTo(TopMemoryContext);
	if (n_claimed_runs == max_claimed_runs)
	{
		max_claimed_runs = Max(16, max_claimed_runs * 2);
		claimed_runs = claimed_runs == NULL
			? palloc(sizeof(int64) * max_claimed_runs)
			: repalloc(claimed_runs, sizeof(int64) * max_claimed_runs);
	}
	claimed_runs[n_claimed_runs++] = DatumGetInt64(run);
	MemoryContextSwitchTo(old);
	return run;
}

/*
 * rowkeeper._purge_run_update(run, ...): add to the record of a run this
 * session started (rowkeeper._purge_run_update_body, as the owner of
 * purge_runs); any other run is refused.  A finished run (outcome given)
 * is forgotten.
 */
Datum
_purge_run_update(PG_FUNCTION_ARGS)
{
	int64		run;
	int			i;
	Datum		result;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the purge run must not be NULL")));
	run = PG_GETARG_INT64(0);
	for (i = 0; i < n_claimed_runs; i++)
		if (claimed_runs[i] == run)
			break;
	if (i == n_claimed_runs)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("purge run %lld was not started by this session",
						(long long) run),
				 errdetail("A purge run's record is written only by the session that runs it."),
				 errhint("Start a run with rowkeeper.purge_expired(), purge_soft_deleted() or purge_audit_log().")));
	result = rk_call_restricted(fcinfo, rk_rel_owner(rk_purge_runs_relid()),
								"_purge_run_update_body");
	if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
		claimed_runs[i] = claimed_runs[--n_claimed_runs];
	return result;
}

/*
 * The lock tag of one purge (kind, table).  Object locks are otherwise
 * taken with a system catalog's OID as class; purge_runs' OID is never one.
 */
static void
rk_purge_locktag(FunctionCallInfo fcinfo, LOCKTAG *tag)
{
	const char *kind;
	uint16		k;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the kind of a purge must not be NULL")));
	kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(kind, "expired") == 0)
		k = 1;
	else if (strcmp(kind, "soft_deleted") == 0)
		k = 2;
	else if (strcmp(kind, "audit_log") == 0)
		k = 3;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown kind of purge \"%s\"", kind),
				 errdetail("The kinds are expired, soft_deleted and audit_log.")));
	(void) rk_purge_owner(fcinfo, 1);
	SET_LOCKTAG_OBJECT(*tag, MyDatabaseId, rk_purge_runs_relid(),
					   PG_GETARG_OID(1), k);
}

/*
 * rowkeeper._purge_lock(kind, tbl): take the session-level lock of one
 * purge without waiting; false if another session holds it.  Only a caller
 * that could run that purge may take it.
 */
Datum
_purge_lock(PG_FUNCTION_ARGS)
{
	LOCKTAG		tag;

	rk_purge_locktag(fcinfo, &tag);
	PG_RETURN_BOOL(LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL);
}

/* rowkeeper._purge_unlock(kind, tbl): release it; false if not held. */
Datum
_purge_unlock(PG_FUNCTION_ARGS)
{
	LOCKTAG		tag;

	rk_purge_locktag(fcinfo, &tag);
	PG_RETURN_BOOL(LockRelease(&tag, ExclusiveLock, true));
}
