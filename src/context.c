/*-------------------------------------------------------------------------
 *
 * context.c
 *	  The request context: who is acting (rowkeeper.actor), for which
 *	  tenant (rowkeeper.tenant) and in which request (rowkeeper.request_id).
 *
 *	  The context is three ordinary custom GUCs, so it can be read with
 *	  current_setting() and follows the usual GUC rules: a value set with
 *	  rowkeeper.set_context() is transaction-local (SET LOCAL semantics), is
 *	  rolled back with a savepoint and is gone when the transaction ends.
 *	  That is what makes it safe behind a transaction-pooling connection
 *	  pooler: the next client's transaction on the same server connection
 *	  starts with an empty context.
 *
 *	  This file owns the GUC variables; other files read them only through
 *	  the rk_context_* accessors, which return NULL for "not set" (unset and
 *	  empty string are the same thing: a custom GUC reads as '' after the
 *	  transaction that set it locally has ended).
 *
 *	  rowkeeper.tenant has a check hook, rk_tenant_check_hook() in tenant.c:
 *	  when rowkeeper.tenant_mode is "token" only a verified tenant token may
 *	  set it (set_context() then refuses a tenant; clearing it still works).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "compat.h"
#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(set_context);
PG_FUNCTION_INFO_V1(current_actor);
PG_FUNCTION_INFO_V1(current_request_id);

/* GUC storage; "" means not set */
static char *rk_actor = NULL;
static char *rk_tenant = NULL;
static char *rk_request_id = NULL;

/*
 * Define the context GUCs.  Called once from _PG_init.
 */
void
rk_context_define_gucs(void)
{
	DefineCustomStringVariable("rowkeeper.actor",
							   "Application-level actor (user id, e-mail, service) of the current request.",
							   "Recorded by the audit trail and soft delete.  Set it with rowkeeper.set_context().",
							   &rk_actor,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomStringVariable("rowkeeper.tenant",
							   "Tenant of the current request.",
							   "Used by tenant isolation and recorded by the audit trail.  Set it with rowkeeper.set_context().",
							   &rk_tenant,
							   "",
							   PGC_USERSET,
							   0,
							   rk_tenant_check_hook, NULL, NULL);

	DefineCustomStringVariable("rowkeeper.request_id",
							   "Identifier of the current request, for correlating audit entries with application logs.",
							   NULL,
							   &rk_request_id,
							   "",
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);
}

/* A GUC value, or NULL when it is unset or empty. */
static inline const char *
nonempty_or_null(const char *value)
{
	return (value != NULL && value[0] != '\0') ? value : NULL;
}

const char *
rk_context_actor(void)
{
	return nonempty_or_null(rk_actor);
}

const char *
rk_context_tenant(void)
{
	return nonempty_or_null(rk_tenant);
}

const char *
rk_context_request_id(void)
{
	return nonempty_or_null(rk_request_id);
}

/*
 * Set one context GUC for the rest of the current transaction, exactly as
 * set_config(name, value, true) would (superusers may set it at SUSET
 * level, everyone else at USERSET level).
 */
static void
set_local(const char *name, text *value)
{
	char	   *cvalue = text_to_cstring(value);

	(void) set_config_option(name, cvalue,
							 superuser() ? PGC_SUSET : PGC_USERSET,
							 PGC_S_SESSION,
							 GUC_ACTION_LOCAL,
							 true, 0, false);
	pfree(cvalue);
}

/*
 * rowkeeper.set_context(actor text, tenant text, request_id text)
 *
 * Sets the given parts of the request context transaction-locally.  A NULL
 * argument leaves that part unchanged; an empty string clears it.  Outside
 * a transaction block the values would vanish at the end of this very
 * statement, which is never what the caller meant, so we warn.
 */
Datum
set_context(PG_FUNCTION_ARGS)
{
	if (!IsTransactionBlock())
		ereport(WARNING,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("rowkeeper.set_context() outside a transaction block lasts only until the end of this statement"),
				 errhint("Call it after BEGIN, in the same transaction as the statements it describes.")));

	if (!PG_ARGISNULL(0))
		set_local("rowkeeper.actor", PG_GETARG_TEXT_PP(0));
	if (!PG_ARGISNULL(1))
		set_local("rowkeeper.tenant", PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
		set_local("rowkeeper.request_id", PG_GETARG_TEXT_PP(2));

	/* on a Citus coordinator: to the workers now, not at the next query */
	if (!PG_ARGISNULL(0) || !PG_ARGISNULL(1) || !PG_ARGISNULL(2))
		rk_citus_sync();

	PG_RETURN_VOID();
}

/* rowkeeper.current_actor(): the actor, or NULL when none is set. */
Datum
current_actor(PG_FUNCTION_ARGS)
{
	const char *actor = rk_context_actor();

	if (actor == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(actor));
}

/* rowkeeper.current_request_id(): the request id, or NULL when none is set. */
Datum
current_request_id(PG_FUNCTION_ARGS)
{
	const char *request_id = rk_context_request_id();

	if (request_id == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(request_id));
}
