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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "rowkeeper.h"

static char *rk_audit_min_retention = NULL;

/* The value must read as a non-negative interval. */
static bool
check_min_retention(char **newval, void **extra, GucSource source)
{
	Interval   *iv;
	Interval	zero = {0};

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
	DefineCustomStringVariable("rowkeeper.audit_min_retention",
							   "Shortest retention rowkeeper.purge_audit_log() accepts.",
							   "A purge with a shorter older_than is refused.  Superusers only.",
							   &rk_audit_min_retention,
							   "30 days",
							   PGC_SUSET,
							   0,
							   check_min_retention, NULL, NULL);
}
