/*-------------------------------------------------------------------------
 *
 * updated_at.c
 *	  The updated_at trigger: rowkeeper.updated_at_trigger(), a BEFORE ROW
 *	  trigger that keeps a timestamp column equal to the time of the last
 *	  real change of the row.
 *
 *	  Configuration lives in the trigger itself (principle: configuration
 *	  lives where PostgreSQL keeps it).  rowkeeper.enable_updated_at()
 *	  creates the trigger with these arguments:
 *
 *		  argv[0]	the column name, exactly as spelled in the catalog
 *					("updatedAt" stays camelCase: no case folding here)
 *		  argv[1..] options as key=value:
 *					clock=transaction|statement|clock
 *					keep_explicit=true|false
 *					skip_noop=true|false
 *					time_zone=utc|session (timestamp columns only)
 *					skip_stamp_only=true|false (absent: true)
 *
 *	  and fires it BEFORE UPDATE, or BEFORE INSERT OR UPDATE when the
 *	  column should also be filled on INSERT (only when NULL).
 *
 *	  Behaviour on UPDATE:
 *	  - the column appears in the UPDATE's SET list (tg_updatedcols), as
 *		ORMs that stamp updatedAt themselves send it with every save:
 *		with skip_noop and skip_stamp_only, a new value of the column and
 *		no other column changed, the row keeps its old value of the column
 *		(the save was a no-op, and the audit trigger after it sees no
 *		change; SET updated_at = updated_at stays a touch); otherwise
 *		keep_explicit=true keeps the given value, else it is replaced;
 *	  - else, with skip_noop=true and no other column changed (binary
 *		comparison of OLD and NEW), the row keeps its old timestamp;
 *	  - else the column is set from the clock.
 *	  The value is rounded to the column's declared precision, so
 *	  timestamp(3) columns (Prisma's default) hold 3 fractional digits.
 *	  A timestamp without time zone column gets the time in UTC with
 *	  time_zone=utc (what enable_updated_at() writes by default: Prisma,
 *	  TypeORM and Sequelize write and read such columns as UTC), or the
 *	  session's local time with time_zone=session.  A trigger without the
 *	  argument (created by rowkeeper 0.1.0) keeps 0.1.0's behaviour, the
 *	  session's local time.  Either conversion is arithmetic on the clock
 *	  reading, once per call: no catalog access, no SPI.
 *
 *	  Caching: everything that depends only on the table and the trigger
 *	  (column number, type, typmod, parsed options) is resolved once per
 *	  trigger per statement and kept in flinfo->fn_extra.  The executor
 *	  builds a fresh FmgrInfo for every execution of a statement, so the
 *	  cache never outlives a schema change: ALTER TABLE cannot run while a
 *	  statement on the table is executing.  No invalidation is needed.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/bitmapset.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(updated_at_trigger);

typedef enum UpdatedAtClock
{
	CLOCK_TRANSACTION,			/* now(): start of the transaction */
	CLOCK_STATEMENT,			/* statement_timestamp() */
	CLOCK_WALL					/* clock_timestamp() */
} UpdatedAtClock;

/* Per-trigger, per-statement resolved configuration (lives in fn_extra). */
typedef struct UpdatedAtConfig
{
	Oid			relid;			/* relation it was resolved for */
	Oid			tgoid;			/* trigger it was resolved for */
	AttrNumber	attnum;			/* the timestamp column */
	Oid			typid;			/* TIMESTAMPTZOID or TIMESTAMPOID */
	int32		typmod;			/* declared precision, or -1 */
	UpdatedAtClock clock;
	bool		keep_explicit;
	bool		skip_noop;
	bool		skip_stamp_only;	/* a save setting only our column: no-op */
	bool		utc;			/* timestamp column: UTC, not local time */
} UpdatedAtConfig;

/* Apply one key=value trigger argument to cfg. */
static void
parse_option(UpdatedAtConfig *cfg, const RkTriggerArgs *ta, const char *arg)
{
	const char *value;

	if ((value = rk_option_value(arg, "clock")) != NULL)
	{
		if (strcmp(value, "transaction") == 0)
			cfg->clock = CLOCK_TRANSACTION;
		else if (strcmp(value, "statement") == 0)
			cfg->clock = CLOCK_STATEMENT;
		else if (strcmp(value, "clock") == 0)
			cfg->clock = CLOCK_WALL;
		else
			rk_bad_trigger_argument(ta, arg);
	}
	else if ((value = rk_option_value(arg, "keep_explicit")) != NULL)
		cfg->keep_explicit = rk_option_bool(ta, arg, value);
	else if ((value = rk_option_value(arg, "skip_noop")) != NULL)
		cfg->skip_noop = rk_option_bool(ta, arg, value);
	else if ((value = rk_option_value(arg, "skip_stamp_only")) != NULL)
		cfg->skip_stamp_only = rk_option_bool(ta, arg, value);
	else if ((value = rk_option_value(arg, "time_zone")) != NULL)
	{
		if (strcmp(value, "utc") == 0)
			cfg->utc = true;
		else if (strcmp(value, "session") == 0)
			cfg->utc = false;
		else
			rk_bad_trigger_argument(ta, arg);
	}
	else
		rk_bad_trigger_argument(ta, arg);
}

/*
 * Resolve the trigger's arguments against the relation's current tuple
 * descriptor: find the column (case-exactly), check its type, parse the
 * options.  Errors here are what a user sees after altering the column.
 */
static void
resolve_config(UpdatedAtConfig *cfg, TriggerData *trigdata)
{
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	rel = trigdata->tg_relation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	RkTriggerArgs ta = {trigger, rel,
		"rowkeeper.updated_at_trigger() takes a column name followed by options clock=transaction|statement|clock, keep_explicit=true|false, skip_noop=true|false, skip_stamp_only=true|false and time_zone=utc|session.",
	"rowkeeper.enable_updated_at()"};
	const char *colname;
	Form_pg_attribute att;
	int			i;

	if (trigger->tgnargs < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trigger \"%s\" on table \"%s\" names no column",
						trigger->tgname, RelationGetRelationName(rel)),
				 errhint("Create the trigger with rowkeeper.enable_updated_at() instead of CREATE TRIGGER.")));

	colname = trigger->tgargs[0];
	cfg->relid = RelationGetRelid(rel);
	cfg->tgoid = trigger->tgoid;
	cfg->clock = CLOCK_TRANSACTION;
	cfg->keep_explicit = false;
	cfg->skip_noop = true;
	cfg->skip_stamp_only = true;
	cfg->utc = false;			/* 0.1.0's triggers have no time_zone= */

	cfg->attnum = SPI_fnumber(tupdesc, colname);
	if (cfg->attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, RelationGetRelationName(rel)),
				 errdetail("The updated_at trigger \"%s\" maintains this column.",
						   trigger->tgname),
				 errhint("After renaming or dropping the column, call rowkeeper.enable_updated_at() with the new name or rowkeeper.disable_updated_at().")));

	att = TupleDescAttr(tupdesc, cfg->attnum - 1);
	cfg->typid = att->atttypid;
	cfg->typmod = att->atttypmod;
	if (cfg->typid != TIMESTAMPTZOID && cfg->typid != TIMESTAMPOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of relation \"%s\" is of type %s, not timestamp with time zone or timestamp",
						colname, RelationGetRelationName(rel),
						format_type_be(cfg->typid)),
				 errdetail("The updated_at trigger \"%s\" maintains this column.",
						   trigger->tgname)));

	for (i = 1; i < trigger->tgnargs; i++)
		parse_option(cfg, &ta, trigger->tgargs[i]);
}

/*
 * The per-statement configuration of this trigger call, resolved on first
 * use.  The relid/tgoid check guards against an FmgrInfo shared between
 * relations, which the executor does not do today.
 */
static UpdatedAtConfig *
get_config(FunctionCallInfo fcinfo, TriggerData *trigdata)
{
	UpdatedAtConfig *cfg = (UpdatedAtConfig *) fcinfo->flinfo->fn_extra;

	if (cfg == NULL)
	{
		cfg = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									 sizeof(UpdatedAtConfig));
		resolve_config(cfg, trigdata);
		fcinfo->flinfo->fn_extra = cfg;
	}
	else if (cfg->relid != RelationGetRelid(trigdata->tg_relation) ||
			 cfg->tgoid != trigdata->tg_trigger->tgoid)
		resolve_config(cfg, trigdata);

	return cfg;
}

/* The clock reading to store, converted and rounded for the column. */
static Datum
clock_value(const UpdatedAtConfig *cfg)
{
	TimestampTz now;

	switch (cfg->clock)
	{
		case CLOCK_STATEMENT:
			now = GetCurrentStatementStartTimestamp();
			break;
		case CLOCK_WALL:
			now = GetCurrentTimestamp();
			break;
		case CLOCK_TRANSACTION:
		default:
			/* a Citus shard: the coordinator's transaction (src/citus.c) */
			if (!rk_citus_coordinator_time(&now))
				now = GetCurrentTransactionStartTimestamp();
			break;
	}

	if (cfg->typid == TIMESTAMPOID)
	{
		Timestamp	local;

		/*
		 * UTC: a timestamptz is microseconds since 2000-01-01 00:00 UTC, a
		 * timestamp the same count on a clock without zone, so the UTC
		 * wall-clock time is the same number (now() AT TIME ZONE 'UTC').
		 * Otherwise the session's TimeZone, as now()::timestamp.
		 */
		if (cfg->utc)
			local = (Timestamp) now;
		else
			local = DatumGetTimestamp(DirectFunctionCall1(timestamptz_timestamp,
														  TimestampTzGetDatum(now)));
		if (cfg->typmod >= 0)
			rk_adjust_timestamp_typmod(&local, cfg->typmod);
		return TimestampGetDatum(local);
	}

	if (cfg->typmod >= 0)
		rk_adjust_timestamp_typmod(&now, cfg->typmod);
	return TimestampTzGetDatum(now);
}

/*
 * Did the UPDATE change any column other than ours?  Binary comparison,
 * which is conservative: a value rewritten in a different but equal form
 * counts as a change.  Generated columns are skipped (not yet computed in
 * a BEFORE trigger, and they follow the columns they derive from).
 */
static bool
row_changed(TriggerData *trigdata, AttrNumber skip_attnum)
{
	TupleTableSlot *oldslot = trigdata->tg_trigslot;
	TupleTableSlot *newslot = trigdata->tg_newslot;
	TupleDesc	tupdesc = RelationGetDescr(trigdata->tg_relation);
	int			i;

	slot_getallattrs(oldslot);
	slot_getallattrs(newslot);

	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped || att->attgenerated || i == skip_attnum - 1)
			continue;
		if (oldslot->tts_isnull[i] != newslot->tts_isnull[i])
			return true;
		if (oldslot->tts_isnull[i])
			continue;
		if (!datumIsEqual(oldslot->tts_values[i], newslot->tts_values[i],
						  att->attbyval, att->attlen))
			return true;
	}
	return false;
}

/* Return tuple with our column replaced by the clock value. */
static HeapTuple
stamp_tuple(HeapTuple tuple, TriggerData *trigdata, const UpdatedAtConfig *cfg)
{
	int			attnum = cfg->attnum;
	Datum		value = clock_value(cfg);
	bool		isnull = false;

	return heap_modify_tuple_by_cols(tuple,
									 RelationGetDescr(trigdata->tg_relation),
									 1, &attnum, &value, &isnull);
}

/* Does the UPDATE give our column a value other than its old one? */
static bool
stamp_differs(TriggerData *trigdata, const UpdatedAtConfig *cfg)
{
	TupleDesc	tupdesc = RelationGetDescr(trigdata->tg_relation);
	bool		oldnull,
				newnull;
	Datum		oldval = heap_getattr(trigdata->tg_trigtuple, cfg->attnum,
									  tupdesc, &oldnull);
	Datum		newval = heap_getattr(trigdata->tg_newtuple, cfg->attnum,
									  tupdesc, &newnull);

	if (oldnull || newnull)
		return oldnull != newnull;
	/* timestamp and timestamptz are int64, passed by value */
	return DatumGetInt64(oldval) != DatumGetInt64(newval);
}

/* Return the new tuple with our column put back to its old value. */
static HeapTuple
keep_old_stamp(TriggerData *trigdata, const UpdatedAtConfig *cfg)
{
	TupleDesc	tupdesc = RelationGetDescr(trigdata->tg_relation);
	int			attnum = cfg->attnum;
	bool		isnull;
	Datum		value = heap_getattr(trigdata->tg_trigtuple, attnum, tupdesc,
									 &isnull);

	return heap_modify_tuple_by_cols(trigdata->tg_newtuple, tupdesc,
									 1, &attnum, &value, &isnull);
}

/*
 * rowkeeper.updated_at_trigger(): see the file header.
 */
Datum
updated_at_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	UpdatedAtConfig *cfg;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rowkeeper.updated_at_trigger() must be called as a trigger")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_INSERT(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rowkeeper.updated_at_trigger() must be fired BEFORE INSERT or UPDATE FOR EACH ROW"),
				 errhint("Create the trigger with rowkeeper.enable_updated_at().")));

	cfg = get_config(fcinfo, trigdata);

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		HeapTuple	tuple = trigdata->tg_trigtuple;

		/* INSERT: fill the column only when the row leaves it NULL */
		if (!heap_attisnull(tuple, cfg->attnum,
							RelationGetDescr(trigdata->tg_relation)))
			return PointerGetDatum(tuple);
		return PointerGetDatum(stamp_tuple(tuple, trigdata, cfg));
	}

	/* UPDATE */
	if (bms_is_member(cfg->attnum - FirstLowInvalidHeapAttributeNumber,
					  trigdata->tg_updatedcols))
	{
		/*
		 * An ORM's no-op save: only the stamp it set itself differs.  (SET
		 * updated_at = updated_at, the same value, stays a touch.)
		 */
		if (cfg->skip_noop && cfg->skip_stamp_only &&
			stamp_differs(trigdata, cfg) &&
			!row_changed(trigdata, cfg->attnum))
			return PointerGetDatum(keep_old_stamp(trigdata, cfg));
		if (cfg->keep_explicit)
			return PointerGetDatum(trigdata->tg_newtuple);
	}
	else if (cfg->skip_noop && !row_changed(trigdata, cfg->attnum))
		return PointerGetDatum(trigdata->tg_newtuple);

	return PointerGetDatum(stamp_tuple(trigdata->tg_newtuple, trigdata, cfg));
}
