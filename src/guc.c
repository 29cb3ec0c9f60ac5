/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  Every rowkeeper.* setting, defined in one place, in the order
 *	  _PG_init needs (README, Settings, lists them for users):
 *
 *	  rowkeeper.tenant_mode, .tenant_key	tenant.c: who may set the tenant,
 *											the key that signs tokens
 *	  rowkeeper.actor, .tenant, .request_id,
 *	  .client_addr, .user_agent, .metadata	context.c: the request context
 *	  rowkeeper.audit_min_retention			purge.c
 *	  rowkeeper.show_deleted				soft_delete.c
 *	  rowkeeper.soft_delete_rewrite			soft_delete_rewrite.c
 *	  rowkeeper.coordinator_xact_start,
 *	  .coordinator_soft_delete_batch,
 *	  .coordinator_hard_delete				citus.c: internal, what a Citus
 *											coordinator sends its workers
 *
 *	  The mode is defined before rowkeeper.tenant, so that a tenant given
 *	  before the library was loaded is checked against the configured mode
 *	  when it is adopted.  The prefix is reserved after the last one, so a
 *	  typo such as "SET rowkeeper.actr" is an error rather than a silently
 *	  ignored placeholder.  A value SET before the library loaded is kept:
 *	  defining the variable adopts the placeholder's value.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "compat.h"
#include "guc.h"

/* The variables (see guc.h for who reads each). */
char	   *rk_actor = NULL;
char	   *rk_tenant = NULL;
char	   *rk_request_id = NULL;
char	   *rk_client_addr = NULL;
char	   *rk_user_agent = NULL;
char	   *rk_metadata = NULL;
int			rk_tenant_mode = RK_TENANT_MODE_CONTEXT;
char	   *rk_tenant_key = NULL;
char	   *rk_audit_min_retention = NULL;
bool		rk_show_deleted = false;
bool		rk_soft_delete_rewrite = true;
char	   *rk_coordinator_xact_start = NULL;
char	   *rk_coordinator_soft_delete_batch = NULL;
char	   *rk_coordinator_hard_delete = NULL;

static const struct config_enum_entry tenant_mode_options[] = {
	{"context", RK_TENANT_MODE_CONTEXT, false},
	{"token", RK_TENANT_MODE_TOKEN, false},
	{NULL, 0, false}
};

/* Whether a value for name waits in a placeholder (given before loading). */
static bool
value_waiting(const char *name)
{
	return GetConfigOption(name, true, false) != NULL;
}

/* Tenant isolation's two settings (see tenant.c for the steps around). */
static void
define_tenant_gucs(void)
{
	bool		mode_waiting = value_waiting("rowkeeper.tenant_mode");

	DefineCustomEnumVariable("rowkeeper.tenant_mode",
							 "How rowkeeper.tenant may be set: context (any SQL, e.g. rowkeeper.set_context()) or token (only rowkeeper.set_tenant_token()).",
							 "Only superusers can change it; set it in postgresql.conf, with ALTER SYSTEM or with ALTER DATABASE ... SET.",
							 &rk_tenant_mode,
							 RK_TENANT_MODE_CONTEXT,
							 tenant_mode_options,
							 PGC_SUSET,
							 0,
							 rk_tenant_mode_check_hook, NULL, NULL);
	rk_tenant_mode_defined(mode_waiting);

	rk_tenant_key_before_define();
	DefineCustomStringVariable("rowkeeper.tenant_key",
							   "Secret key that signs tenant tokens (HMAC-SHA256).",
							   "Only superusers and members of pg_read_all_settings can read it.  Set it in postgresql.conf or with ALTER SYSTEM; ALTER DATABASE/ROLE ... SET is refused (every role can read pg_db_role_setting).",
							   &rk_tenant_key,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							   rk_tenant_key_check_hook, NULL, NULL);
}

/* The request context: who, which tenant, which request (context.c). */
static void
define_context_gucs(void)
{
	DefineCustomStringVariable("rowkeeper.actor",
							   "Application-level actor (user id, e-mail, service) of the current request.",
							   "Recorded by the audit trail and soft delete.  Set it with rowkeeper.set_context().",
							   &rk_actor,
							   "",
							   PGC_USERSET,
							   0,
							   rk_citus_context_setting_check, NULL, NULL);

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
							   rk_citus_context_setting_check, NULL, NULL);

	DefineCustomStringVariable("rowkeeper.client_addr",
							   "Address of the end user's client in the current request (the connection's address is the pooler's or the application server's).",
							   "Recorded by the audit trail as request_addr.  Set it with rowkeeper.set_context(client_addr => ...).",
							   &rk_client_addr,
							   "",
							   PGC_USERSET,
							   0,
							   rk_context_client_addr_check, NULL, NULL);

	DefineCustomStringVariable("rowkeeper.user_agent",
							   "User agent of the end user's client in the current request.",
							   "Recorded by the audit trail.  Set it with rowkeeper.set_context(user_agent => ...).",
							   &rk_user_agent,
							   "",
							   PGC_USERSET,
							   0,
							   rk_context_user_agent_check, NULL, NULL);

	DefineCustomStringVariable("rowkeeper.metadata",
							   "Free request metadata, a JSON object.",
							   "Recorded by the audit trail.  Set it with rowkeeper.set_context(metadata => ...).",
							   &rk_metadata,
							   "",
							   PGC_USERSET,
							   0,
							   rk_context_metadata_check, NULL, NULL);
}

/* The purge jobs' floor for the audit log's retention (purge.c). */
static void
define_purge_gucs(void)
{
	bool		waiting = value_waiting("rowkeeper.audit_min_retention");

	DefineCustomStringVariable("rowkeeper.audit_min_retention",
							   "Shortest retention rowkeeper.purge_audit_log() accepts.",
							   "A purge with a shorter older_than is refused.  Superusers only.",
							   &rk_audit_min_retention,
							   "30 days",
							   PGC_SUSET,
							   0,
							   rk_purge_min_retention_check, NULL, NULL);
	rk_purge_min_retention_defined(waiting);
}

/* Soft delete (soft_delete.c) and its DELETE rewrite (soft_delete_rewrite.c). */
static void
define_soft_delete_gucs(void)
{
	DefineCustomBoolVariable("rowkeeper.show_deleted",
							 "Shows soft-deleted rows to members of rowkeeper_see_deleted and table owners.",
							 "For other roles it changes nothing. Use SET LOCAL for one transaction.",
							 &rk_show_deleted,
							 false,
							 PGC_USERSET,
							 0,
							 rk_citus_context_bool_check, rk_soft_delete_show_deleted_assign, NULL);

	DefineCustomBoolVariable("rowkeeper.soft_delete_rewrite",
							 "Runs a DELETE on a soft-delete table as the UPDATE that marks its rows.",
							 "Off: a DELETE on a soft-delete table is refused by the table's guard "
							 "(only rowkeeper.hard_delete() removes rows). "
							 "Takes effect for statements parsed afterwards.",
							 &rk_soft_delete_rewrite,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

/*
 * Citus (citus.c): what the coordinator sends the workers of a transaction
 * besides the request context, as SET LOCAL.  Internal: not shown, never
 * in a file; the workers trust them only as far as citus.c says.
 */
static void
define_citus_gucs(void)
{
	const int	flags = GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE;

	DefineCustomStringVariable("rowkeeper.coordinator_xact_start",
							   "Internal: the start of the Citus coordinator's transaction, sent to the workers.",
							   "Set by rowkeeper on the coordinator; the audit trigger on a shard logs it as logged_at.",
							   &rk_coordinator_xact_start,
							   "",
							   PGC_USERSET, flags,
							   rk_citus_internal_setting_check, NULL, NULL);
	DefineCustomStringVariable("rowkeeper.coordinator_soft_delete_batch",
							   "Internal: the Citus coordinator transaction's soft-delete batch id, sent to the workers.",
							   "Set by rowkeeper on the coordinator; a worker accepts a marking UPDATE of a soft-delete shard only with this batch id.",
							   &rk_coordinator_soft_delete_batch,
							   "",
							   PGC_USERSET, flags,
							   rk_citus_internal_setting_check, NULL, NULL);
	DefineCustomStringVariable("rowkeeper.coordinator_hard_delete",
							   "Internal: \"on\" while rowkeeper.hard_delete() runs on the Citus coordinator, sent to the workers.",
							   "Set by rowkeeper on the coordinator; a worker lets the table's owner past the soft-delete guard while it is on.",
							   &rk_coordinator_hard_delete,
							   "",
							   PGC_USERSET, flags,
							   rk_citus_internal_setting_check, NULL, NULL);
}

/*
 * Define every rowkeeper.* setting, then reserve the prefix.  Called once,
 * first thing in _PG_init.
 */
void
rk_define_gucs(void)
{
	/* tenant mode first: see the file header */
	define_tenant_gucs();
	define_context_gucs();
	define_purge_gucs();
	define_soft_delete_gucs();
	define_citus_gucs();
	rk_reserve_guc_prefix(RK_GUC_PREFIX);
}
