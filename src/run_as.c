/*-------------------------------------------------------------------------
 *
 * run_as.c
 *	  Running SQL-level code with another role's rights, safely.
 *
 *	  Some of rowkeeper's work must run as a role other than the caller:
 *	  a purge deletes as the table's owner (so that a superuser or a
 *	  pg_cron job never runs the owner's triggers with its own rights),
 *	  assert_isolated() probes as a role subject to row-level security, and
 *	  purge run records are written as the owner of rowkeeper.purge_runs.
 *	  SET ROLE cannot do that safely: the other role's code (a trigger, a
 *	  policy function, an operator) runs RESET ROLE and is the caller again.
 *
 *	  rk_call_restricted() runs a PL/pgSQL "body" function the way
 *	  PostgreSQL runs VACUUM or REFRESH MATERIALIZED VIEW: the user id is
 *	  switched with SetUserIdAndSecContext() as a security-restricted
 *	  operation (SECURITY_LOCAL_USERID_CHANGE: SET ROLE / RESET ROLE / SET
 *	  SESSION AUTHORIZATION fail; SECURITY_RESTRICTED_OPERATION: no
 *	  temporary tables, PREPARE, LISTEN or cursors WITH HOLD that would
 *	  outlive it), inside a new GUC nest level that is rolled back when it
 *	  returns, so nothing the other role SETs (search_path, ...) reaches
 *	  the caller.  Deferred constraint triggers, which would fire at COMMIT
 *	  with the caller's rights, cannot be queued in a restricted operation
 *	  (PostgreSQL refuses them: "cannot fire deferred trigger within
 *	  security-restricted operation").
 *
 *	  The SQL-callable wrappers are LANGUAGE C functions with the same
 *	  arguments as their body (rowkeeper.<name>_body): each decides which
 *	  role to run as and checks that the caller may act as it (superuser,
 *	  or allowed to SET ROLE to it), then hands its arguments over (a
 *	  wrapper may fill in one itself, as _purge_run_start() does run_by).
 *	  The body runs inside one call: a procedure that commits
 *	  between batches calls a wrapper once per batch, never across a
 *	  COMMIT.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_proc.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "compat.h"
#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(_isolation_probes);

/* The body a wrapper calls, looked up once per call site (fn_extra). */
typedef struct RkBody
{
	FmgrInfo	flinfo;
	int			nargs;
} RkBody;

/*
 * May the current user act as role?  Superusers may; others only as a role
 * they could SET ROLE to.
 */
bool
rk_can_act_as(Oid role)
{
	return superuser() || rk_can_set_role(GetUserId(), role);
}

/*
 * The body of the wrapper being called: rowkeeper.<body_name> with the
 * wrapper's own input argument types.
 */
static RkBody *
rk_body(FunctionCallInfo fcinfo, const char *body_name)
{
	RkBody	   *body = (RkBody *) fcinfo->flinfo->fn_extra;
	HeapTuple	tup;
	Form_pg_proc proc;
	Oid			fn;

	if (body != NULL)
		return body;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fcinfo->flinfo->fn_oid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fcinfo->flinfo->fn_oid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	fn = LookupFuncName(rk_own_name(body_name),
						proc->pronargs, proc->proargtypes.values, false);
	ReleaseSysCache(tup);

	body = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RkBody));
	fmgr_info_cxt(fn, &body->flinfo, fcinfo->flinfo->fn_mcxt);
	body->flinfo.fn_expr = fcinfo->flinfo->fn_expr;
	body->nargs = fcinfo->nargs;
	fcinfo->flinfo->fn_extra = body;
	return body;
}

/*
 * Call the wrapper's body (rowkeeper.<body_name>, same arguments) as role,
 * as a security-restricted operation in its own GUC nest level, and return
 * its result.  The caller has checked that the current user may act as
 * role (or role is rowkeeper's own).
 */
Datum
rk_call_restricted(FunctionCallInfo fcinfo, Oid role, const char *body_name)
{
	RkBody	   *body = rk_body(fcinfo, body_name);
	FunctionCallInfo call;
	Oid			save_userid;
	int			save_sec;
	int			save_nestlevel;
	volatile Datum result = (Datum) 0;
	int			i;

	call = palloc0(SizeForFunctionCallInfo(body->nargs));
	InitFunctionCallInfoData(*call, &body->flinfo, body->nargs,
							 fcinfo->fncollation, NULL, fcinfo->resultinfo);
	for (i = 0; i < body->nargs; i++)
		call->args[i] = fcinfo->args[i];

	GetUserIdAndSecContext(&save_userid, &save_sec);
	save_nestlevel = NewGUCNestLevel();
	SetUserIdAndSecContext(role, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		result = FunctionCallInvoke(call);
	}
	PG_FINALLY();
	{
		/* whatever the body SET goes, even on success */
		AtEOXact_GUC(false, save_nestlevel);
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();

	fcinfo->isnull = call->isnull;
	return result;
}

/*
 * rowkeeper._isolation_probes(tbl, probe_role, ...): the probes of
 * assert_isolated() (rowkeeper._isolation_probes_body), run as probe_role
 * in a restricted operation.  The caller must be able to act as that role.
 */
Datum
_isolation_probes(PG_FUNCTION_ARGS)
{
	Oid			role;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the probe role must not be NULL")));
	role = PG_GETARG_OID(1);
	if (!rk_can_act_as(role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission to act as role \"%s\" denied",
						GetUserNameFromId(role, false)),
				 errdetail("The probes run with the rights of the probe role; only a superuser or a role that may SET ROLE to it can run them."),
				 errhint("Pass a probe_role the current role is a member of, or run assert_isolated() as a superuser.")));
	return rk_call_restricted(fcinfo, role, "_isolation_probes_body");
}
