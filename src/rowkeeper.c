/*-------------------------------------------------------------------------
 *
 * rowkeeper.c
 *	  Module entry point: PG_MODULE_MAGIC and _PG_init.
 *
 *	  _PG_init defines GUCs, registers the relcache callback of the audit
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"

#include "audit_log.h"
#include "compat.h"
#include "rowkeeper.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * Library load: define every rowkeeper.* setting and reserve the prefix so
 * a typo such as "SET rowkeeper.actr" is an error rather than a silently
 * ignored placeholder.
 */
void
_PG_init(void)
{
	/*
	 * Tenant mode first: a rowkeeper.tenant value given before the library
	 * loaded is checked against the configured mode when it is adopted.
	 */
	rk_tenant_define_gucs();
	rk_context_define_gucs();
	rk_purge_define_gucs();
	rk_soft_delete_init();
	rk_soft_delete_rewrite_init();
	rk_migration_init();
	/* after every rowkeeper.* setting is defined */
	rk_reserve_guc_prefix("rowkeeper");
	rk_audit_log_init();
	rk_citus_init();
}
