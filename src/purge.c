/*-------------------------------------------------------------------------
 *
 * purge.c
 *	  Settings of the purge and retention jobs.
 *
 *	  The purges themselves are procedures in the install script (cold
 *	  path: a batched DELETE loop with COMMITs between batches is SQL's
 *	  job).  This file owns the one setting they need that must not be left
 *	  to the session running them: rowkeeper.audit_min_retention, the
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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(_audit_min_retention);

static char *rk_audit_min_retention = NULL;

/* A value other than the boot value reached the check hook. */
static bool rk_min_retention_applied = false;

/* A value was given but refused while the variable was defined. */
static bool rk_min_retention_refused = false;

/* The value must read as a non-negative interval. */
static bool
check_min_retention(char **newval, void **extra, GucSource source)
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

void
rk_purge_define_gucs(void)
{
	bool		value_waiting =
		(GetConfigOption("rowkeeper.audit_min_retention", true, false) != NULL);

	DefineCustomStringVariable("rowkeeper.audit_min_retention",
							   "Shortest retention rowkeeper.purge_audit_log() accepts.",
							   "A purge with a shorter older_than is refused.  Superusers only.",
							   &rk_audit_min_retention,
							   "30 days",
							   PGC_SUSET,
							   0,
							   check_min_retention, NULL, NULL);

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
