/*-------------------------------------------------------------------------
 *
 * rowkeeper.c
 *	  Module entry point: PG_MODULE_MAGIC and _PG_init.
 *
 *	  _PG_init defines the GUCs (guc.c), registers the relcache callback of the audit
 *	  log writer and installs the hooks of the soft-delete fast path
 *	  (soft_delete_rewrite.c), of the owner's migrations (migration.c) and,
 *	  on a Citus node, the ones that send the context to the workers
 *	  (citus.c).  It allocates no shared memory, so the
 *	  library works whether it is listed in shared_preload_libraries /
 *	  session_preload_libraries or loaded on first use of one of its
 *	  functions (a trigger firing, a call to rowkeeper.set_context()); only
 *	  the fast path needs it loaded before a DELETE is parsed, and without
 *	  it the soft-delete trigger gives the same result.  A value SET before
 *	  the library loaded is kept: defining the GUC adopts the placeholder's
 *	  value.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "audit_log.h"
#include "compat.h"
#include "guc.h"
#include "rowkeeper.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Library load: define every rowkeeper.* setting (guc.c), then the hooks
 * and callbacks of each capability.
 */
void
_PG_init(void)
{
	/* every rowkeeper.* setting, and the reserved prefix (guc.c) */
	rk_define_gucs();
	rk_soft_delete_init();
	rk_soft_delete_rewrite_init();
	rk_migration_init();
	rk_audit_log_init();
	rk_citus_init();
}
