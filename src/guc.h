/*-------------------------------------------------------------------------
 *
 * guc.h
 *	  Every rowkeeper.* setting: its variable, defined in guc.c, which is
 *	  the one place the settings are declared to PostgreSQL.  The check and
 *	  assign hooks, and what runs around a definition, live with the
 *	  capability that owns the setting (named next to each variable).
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef ROWKEEPER_GUC_H
#define ROWKEEPER_GUC_H

#include "utils/guc.h"

/* The reserved prefix of every setting. */
#define RK_GUC_PREFIX "rowkeeper"

/* Request context (context.c); "" means not set. */
extern char *rk_actor;			/* rowkeeper.actor */
extern char *rk_tenant;			/* rowkeeper.tenant (check: tenant.c) */
extern char *rk_request_id;		/* rowkeeper.request_id */
extern char *rk_client_addr;	/* rowkeeper.client_addr */
extern char *rk_user_agent;		/* rowkeeper.user_agent */
extern char *rk_metadata;		/* rowkeeper.metadata */

/* Tenant isolation (tenant.c). */
typedef enum RkTenantMode
{
	RK_TENANT_MODE_CONTEXT,		/* any SQL may set rowkeeper.tenant */
	RK_TENANT_MODE_TOKEN		/* only set_tenant_token() may */
} RkTenantMode;

extern int	rk_tenant_mode;		/* rowkeeper.tenant_mode */
extern char *rk_tenant_key;		/* rowkeeper.tenant_key */

/* Purge jobs (purge.c). */
extern char *rk_audit_min_retention;	/* rowkeeper.audit_min_retention */

/* Soft delete (soft_delete.c, soft_delete_rewrite.c). */
extern bool rk_show_deleted;	/* rowkeeper.show_deleted */
extern bool rk_soft_delete_rewrite; /* rowkeeper.soft_delete_rewrite */

/* Citus (citus.c): internal, sent by a coordinator to its workers. */
extern char *rk_coordinator_xact_start; /* rowkeeper.coordinator_xact_start */
extern char *rk_coordinator_soft_delete_batch;	/* .coordinator_soft_delete_batch */
extern char *rk_coordinator_hard_delete;	/* .coordinator_hard_delete */

/* Check hook of the three (citus.c): who may give them a value. */
extern bool rk_citus_internal_setting_check(char **newval, void **extra,
											GucSource source);

/* Check hooks of actor, request_id and show_deleted (citus.c). */
extern bool rk_citus_context_setting_check(char **newval, void **extra,
										   GucSource source);
extern bool rk_citus_context_bool_check(bool *newval, void **extra,
										GucSource source);

/* Define them all and reserve the prefix (from _PG_init). */
extern void rk_define_gucs(void);

/* Hooks and definition steps, in the capability files. */
extern bool rk_context_client_addr_check(char **newval, void **extra,
										 GucSource source);
extern bool rk_context_user_agent_check(char **newval, void **extra,
										GucSource source);
extern bool rk_context_metadata_check(char **newval, void **extra,
									  GucSource source);
extern bool rk_tenant_check_hook(char **newval, void **extra,
								 GucSource source);
extern bool rk_tenant_mode_check_hook(int *newval, void **extra,
									  GucSource source);
extern void rk_tenant_mode_defined(bool value_waiting);
extern bool rk_tenant_key_check_hook(char **newval, void **extra,
									 GucSource source);
extern void rk_tenant_key_before_define(void);
extern bool rk_purge_min_retention_check(char **newval, void **extra,
										 GucSource source);
extern void rk_purge_min_retention_defined(bool value_waiting);
extern void rk_soft_delete_show_deleted_assign(bool newval, void *extra);

#endif							/* ROWKEEPER_GUC_H */
