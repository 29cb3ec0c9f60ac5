/*-------------------------------------------------------------------------
 *
 * context.c
 *	  The request context: who is acting (rowkeeper.actor), for which
 *	  tenant (rowkeeper.tenant) and in which request (rowkeeper.request_id),
 *	  and the end user's side of that request: the client's address
 *	  (rowkeeper.client_addr: behind a pooler or an application server the
 *	  connection's own address is theirs, not the user's), user agent
 *	  (rowkeeper.user_agent) and free metadata (rowkeeper.metadata, a JSON
 *	  object).  Size limits are check hooks, so SET and set_config() are held
 *	  to them as set_context() is: client_addr 64 bytes, user_agent 1024,
 *	  metadata 8192.
 *
 *	  The context is ordinary custom GUCs, so it can be read with
 *	  current_setting() and follows the usual GUC rules: a value set with
 *	  rowkeeper.set_context() is transaction-local (SET LOCAL semantics), is
 *	  rolled back with a savepoint and is gone when the transaction ends.
 *	  That is what makes it safe behind a transaction-pooling connection
 *	  pooler: the next client's transaction on the same server connection
 *	  starts with an empty context.
 *
 *	  This file owns the meaning of these settings (their variables are
 *	  defined with every other setting in guc.c); other files read them only
 *	  through the rk_context_* accessors, which return NULL for "not set" (unset and
 *	  empty string are the same thing: a custom GUC reads as '' after the
 *	  transaction that set it locally has ended).
 *
 *	  rowkeeper.tenant has a check hook, rk_tenant_check_hook() in tenant.c:
 *	  when rowkeeper.tenant_mode is "token" only a verified tenant token may
 *	  set it (set_context() then refuses a tenant; clearing it still works).
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inet.h"
#include "utils/jsonb.h"

#include "compat.h"
#include "guc.h"
#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(set_context);
PG_FUNCTION_INFO_V1(current_actor);
PG_FUNCTION_INFO_V1(current_request_id);

/* The GUCs' storage is in guc.c ("" means not set). */

#define RK_CLIENT_ADDR_MAX 64
#define RK_USER_AGENT_MAX 1024
#define RK_METADATA_MAX 8192

/* Size limit check hooks (a value longer than the limit is refused). */
static bool
size_check(char **newval, int max, const char *name, const char *hint)
{
	if (*newval != NULL && strlen(*newval) > (size_t) max)
	{
		GUC_check_errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED);
		GUC_check_errmsg("%s is too long (%zu bytes)", name, strlen(*newval));
		GUC_check_errdetail("At most %d bytes are recorded with each audit entry.", max);
		GUC_check_errhint("%s", hint);
		return false;
	}
	return true;
}

bool
rk_context_client_addr_check(char **newval, void **extra, GucSource source)
{
	return size_check(newval, RK_CLIENT_ADDR_MAX, "rowkeeper.client_addr",
					  "Pass the end user's IP address, e.g. set_context(client_addr => '203.0.113.7').");
}

bool
rk_context_user_agent_check(char **newval, void **extra, GucSource source)
{
	return size_check(newval, RK_USER_AGENT_MAX, "rowkeeper.user_agent",
					  "Truncate the user agent in the application before passing it.");
}

bool
rk_context_metadata_check(char **newval, void **extra, GucSource source)
{
	return size_check(newval, RK_METADATA_MAX, "rowkeeper.metadata",
					  "Keep request metadata small (ids, flags); log larger data with rowkeeper.log_event() details.");
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

const char *
rk_context_client_addr(void)
{
	return nonempty_or_null(rk_client_addr);
}

const char *
rk_context_user_agent(void)
{
	return nonempty_or_null(rk_user_agent);
}

const char *
rk_context_metadata(void)
{
	return nonempty_or_null(rk_metadata);
}

/*
 * Set one context GUC for the rest of the current transaction, exactly as
 * set_config(name, value, true) would (superusers may set it at SUSET
 * level, everyone else at USERSET level).
 */
static void
set_local_cstring(const char *name, char *cvalue)
{
	(void) set_config_option(name, cvalue,
							 superuser() ? PGC_SUSET : PGC_USERSET,
							 PGC_S_SESSION,
							 GUC_ACTION_LOCAL,
							 true, 0, false);
}

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
 * rowkeeper.set_context(actor text, tenant text, request_id text,
 *						  client_addr inet, user_agent text, metadata jsonb)
 *
 * Sets the given parts of the request context transaction-locally.  A NULL
 * argument leaves that part unchanged; an empty string clears it (and
 * '{}' the metadata).  The 0.1.0 SQL declaration has the first three only.  Outside
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
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
		set_local_cstring("rowkeeper.client_addr",
						  DatumGetCString(DirectFunctionCall1(inet_out, PG_GETARG_DATUM(3))));
	if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
		set_local("rowkeeper.user_agent", PG_GETARG_TEXT_PP(4));
	if (PG_NARGS() > 5 && !PG_ARGISNULL(5))
	{
		Jsonb	   *md = PG_GETARG_JSONB_P(5);

		if (!JB_ROOT_IS_OBJECT(md) || JB_ROOT_IS_SCALAR(md))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rowkeeper.set_context(): metadata must be a JSON object"),
					 errdetail("Request metadata is recorded as an object of named values."),
					 errhint("For example: set_context(metadata => '{\"session\": \"s-42\"}').")));
		/* '{}' clears it: an empty object records nothing */
		set_local_cstring("rowkeeper.metadata",
						  JB_ROOT_COUNT(md) == 0 ? "" :
						  JsonbToCString(NULL, &md->root, VARSIZE(md)));
	}

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
