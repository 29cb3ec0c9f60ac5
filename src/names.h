/*-------------------------------------------------------------------------
 *
 * names.h
 *	  The names of rowkeeper's own objects that the C code looks up or
 *	  recognises: its schema and tables, the triggers and policies the
 *	  enable_* functions create on user tables, its roles.  The SQL that
 *	  creates them (the living sources in src/sql/) spells the same names; a C
 *	  file never spells one itself, it uses these.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef ROWKEEPER_NAMES_H
#define ROWKEEPER_NAMES_H

/* The extension's schema and the objects in it that C reads or writes. */
#define RK_SCHEMA					"rowkeeper"
#define RK_AUDIT_LOG				"audit_log"
#define RK_AUDIT_LOG_ID_SEQ			"audit_log_id_seq"
#define RK_PURGE_RUNS				"purge_runs"
#define RK_SOFT_DELETE_BATCH_SEQ	"soft_delete_batch_seq"

/* Triggers and policies rowkeeper creates on user tables. */
#define RK_TRIGGER_SOFT_DELETE		"rowkeeper_soft_delete"
#define RK_TRIGGER_SOFT_DELETE_CASCADE "rowkeeper_soft_delete_cascade"
#define RK_POLICY_SOFT_DELETE		"rowkeeper_soft_delete"
/* prefix: rowkeeper_updated_at_<column> (_updated_at_trigger_name()) */
/* the prefix every trigger and policy rowkeeper creates on user tables has */
#define RK_OBJECT_PREFIX			"rowkeeper_"
#define RK_TRIGGER_UPDATED_AT_PREFIX "rowkeeper_updated_at"

/* Roles. */
#define RK_ROLE_SEE_DELETED			"rowkeeper_see_deleted"

#endif							/* ROWKEEPER_NAMES_H */
