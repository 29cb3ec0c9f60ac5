/*-------------------------------------------------------------------------
 *
 * soft_delete_rewrite.c
 *	  The DELETE side of soft delete: with this library loaded before a
 *	  DELETE on a soft-delete table is parsed, the DELETE becomes, at parse
 *	  analysis, the UPDATE of the same table that marks the rows, and still
 *	  reports itself as a DELETE.  The table keeps its name and stays an
 *	  ordinary table (rowkeeper.enable_soft_delete(), src/sql/20_...);
 *	  reads hide the deleted rows through the table's row-level security
 *	  policy rowkeeper_soft_delete, on every path, whether or not this
 *	  library is loaded.
 *
 *	  post_parse_analyze_hook
 *		DELETE FROM t [USING ...] WHERE ... [RETURNING ...] becomes
 *		UPDATE t SET deleted_at = now(), <batch> = _soft_delete_batch()
 *		[, <by> = _soft_delete_who()] WHERE ... AND deleted_at IS NULL
 *		(now() AT TIME ZONE 'UTC' for a timestamp without time zone column
 *		kept in UTC, time_zone=utc), with the same range table, condition
 *		and RETURNING list.  Privileges are the DELETE's: DELETE on the
 *		table (and SELECT of the columns WHERE and RETURNING read); no
 *		UPDATE privilege is needed, but the marked columns are the UPDATE's
 *		updated columns, so that the table's AFTER UPDATE OF deleted_at
 *		trigger (rowkeeper_soft_delete_cascade: foreign-key cascades and
 *		restrictions, soft_delete.c) fires; deleted_at only where a
 *		foreign key references the table (or another trigger is on that
 *		column, or a stored generated column may read it): elsewhere the
 *		trigger would do nothing, and its queue entry and WHEN clause cost
 *		a fifth of a single-row soft DELETE (and the trigger exists only
 *		while a foreign key references the table; a referenced table
 *		without it is refused, see soft_delete.c).  RETURNING reports the row as
 *		it was before the marking: the bookkeeping columns read NULL, what
 *		every live row holds.  WHERE CURRENT OF gets no extra condition
 *		(the cursor's row is a live row: the policy hides the others).
 *		DELETEs in WITH queries are rewritten the same way.  Left alone,
 *		and refused by the table's guard: a DELETE while rowkeeper.hard_delete() runs (its own
 *		physical delete) and the DELETEs PostgreSQL's foreign-key triggers
 *		run (ON DELETE CASCADE from a table without soft delete: they run
 *		with row security not forced, see InNoForceRLSOperation()).
 *
 *	  planner_hook
 *		The plan of such a statement is relabelled: PlannedStmt.commandType
 *		says DELETE (its ModifyTable still updates), so the command tag is
 *		"DELETE n", SPI reports SPI_OK_DELETE (PL/pgSQL's ROW_COUNT and
 *		FOUND), and a read-only transaction refuses "DELETE".  For an
 *		UPDATE that reads the table PostgreSQL also checks the new row
 *		against the SELECT policies (WithCheckOption WCO_RLS_UPDATE_CHECK);
 *		the marked row fails rowkeeper_soft_delete by design, so that one
 *		check, found by policy name, is dropped from the marking UPDATE
 *		(every other policy, the tenant's included, is checked as usual),
 *		and with it the hiding condition on the marked table itself (the
 *		marking has its own) and constant-true checks (sdr_trim_marking).
 *		Everywhere else, where the current user cannot see deleted rows
 *		now, the hiding policy's "deleted_at IS NULL OR
 *		_soft_delete_visible(t)" becomes plain "deleted_at IS NULL": the
 *		plan of a hand-written condition, partial indexes over live rows
 *		included (sdr_plan_walker).
 *
 *	  ExecutorStart_hook / ExecutorEnd_hook
 *		Keep a stack of the relabelled statements running in this backend,
 *		so that _soft_delete_who() computes the user once per statement.
 *		The batch id is the transaction's (soft_delete.c), so these two
 *		functions need no statement and raise nowhere.
 *
 *	  What a table allows is cached per table, invalidated by a relcache
 *	  callback, and by a pg_proc callback that also forgets our functions'
 *	  OIDs.  Known difference, documented: a plan cached while
 *	  session_replication_role was "origin" keeps marking rows if the role
 *	  is changed to "replica" later in the session.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "parser/parse_coerce.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "guc.h"
#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(soft_delete_batch);
PG_FUNCTION_INFO_V1(soft_delete_who);

/* rowkeeper.soft_delete_rewrite */

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static planner_hook_type prev_planner = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;

/* Our functions in this database; found = false: look them up again. */
typedef struct SdrFuncs
{
	bool		found;
	bool		installed;		/* the extension is there */
	Oid			guard;			/* rowkeeper.soft_delete_guard() */
	Oid			batch;			/* rowkeeper._soft_delete_batch() */
	Oid			who;			/* rowkeeper._soft_delete_who() */
	Oid			visible;		/* rowkeeper._soft_delete_visible(regclass) */
} SdrFuncs;

static SdrFuncs sdr_funcs;

/* One marked column of the table. */
typedef struct SdrColumn
{
	AttrNumber	attno;			/* 0: not configured */
	Oid			type;
	int32		typmod;
	char		name[NAMEDATALEN];
} SdrColumn;

/* What a table allows (cache entry, keyed by its OID). */
typedef struct SdrTable
{
	Oid			relid;
	bool		valid;
	bool		usable;			/* a soft-delete table: DELETE is rewritten */
	char		tgenabled;		/* of its guard trigger */
	SdrColumn	at;
	bool		at_utc;			/* timestamp deleted_at written in UTC */
	bool		at_updated;		/* deleted_at among the updated columns */
	bool		cascade_missing;	/* referenced, no cascade trigger: refuse */
	SdrColumn	batch;
	SdrColumn	by;
} SdrTable;

static HTAB *sdr_tables = NULL;

/* Bumped by every invalidation: an entry built across one is not valid. */
static uint64 sdr_inval_count = 0;

/* A relabelled statement being executed. */
typedef struct SdrStatement
{
	QueryDesc  *qd;
	SubTransactionId subid;
	text	   *who;			/* in TopTransactionContext; NULL: not yet */
} SdrStatement;

static SdrStatement *sdr_stack = NULL;
static int	sdr_depth = 0;
static int	sdr_stack_size = 0;

/* ---------------------------------------------------------------------
 * Caches and their invalidation
 * ---------------------------------------------------------------------
 */

static void
sdr_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	SdrTable   *t;

	sdr_inval_count++;
	if (sdr_tables == NULL)
		return;
	hash_seq_init(&status, sdr_tables);
	while ((t = (SdrTable *) hash_seq_search(&status)) != NULL)
		if (relid == InvalidOid || t->relid == relid)
			t->valid = false;
}

static void
sdr_proc_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	sdr_funcs.found = false;
	sdr_relcache_callback((Datum) 0, InvalidOid);
}

/* End of a (sub)transaction: statements started inside it are over. */
static void
sdr_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_PREPARE)
		sdr_depth = 0;
}

static void
sdr_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB)
		return;
	while (sdr_depth > 0 && sdr_stack[sdr_depth - 1].subid >= mySubid)
		sdr_depth--;
}

static Oid
sdr_func(Oid nsp, const char *name)
{
	return GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
						   CStringGetDatum(name),
						   PointerGetDatum(buildoidvector(NULL, 0)),
						   ObjectIdGetDatum(nsp));
}

/* Find our functions; false if rowkeeper 0.2.0+ is not installed here. */
static bool
sdr_lookup_funcs(void)
{
	Oid			nsp;

	if (sdr_funcs.found)
		return sdr_funcs.installed;
	memset(&sdr_funcs, 0, sizeof(sdr_funcs));
	nsp = rk_schema_oid(true);
	if (OidIsValid(nsp))
	{
		sdr_funcs.guard = sdr_func(nsp, "soft_delete_guard");
		sdr_funcs.batch = sdr_func(nsp, "_soft_delete_batch");
		sdr_funcs.who = sdr_func(nsp, "_soft_delete_who");
		{
			Oid			argtypes[1] = {REGCLASSOID};

			sdr_funcs.visible = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid,
												CStringGetDatum("_soft_delete_visible"),
												PointerGetDatum(buildoidvector(argtypes, 1)),
												ObjectIdGetDatum(nsp));
		}
		sdr_funcs.installed = OidIsValid(sdr_funcs.guard) &&
			OidIsValid(sdr_funcs.batch) && OidIsValid(sdr_funcs.who);
	}
	sdr_funcs.found = true;
	return sdr_funcs.installed;
}

/* Column "name" of the table, a plain stored one; false if none. */
static bool
sdr_table_column(Relation rel, const char *name, SdrColumn *col)
{
	AttrNumber	attno = get_attnum(RelationGetRelid(rel), name);
	Form_pg_attribute att;

	if (attno <= 0 || attno > RelationGetNumberOfAttributes(rel))
		return false;
	att = TupleDescAttr(RelationGetDescr(rel), attno - 1);
	if (att->attisdropped || att->attgenerated)
		return false;
	col->attno = attno;
	col->type = att->atttypid;
	col->typmod = att->atttypmod;
	strlcpy(col->name, name, NAMEDATALEN);
	return true;
}

/* An UPDATE trigger for column attno other than our cascade trigger? */
static bool
sdr_column_trigger(TriggerDesc *trigdesc, AttrNumber attno)
{
	int			i,
				j;

	if (trigdesc == NULL)
		return false;
	for (i = 0; i < trigdesc->numtriggers; i++)
	{
		Trigger    *t = &trigdesc->triggers[i];

		if (!TRIGGER_FOR_UPDATE(t->tgtype) ||
			rk_trigger_is(t->tgname, RK_TRIGGER_SOFT_DELETE_CASCADE))
			continue;
		for (j = 0; j < t->tgnattr; j++)
			if (t->tgattr[j] == attno)
				return true;
	}
	return false;
}

/* The guard trigger of the table and its arguments, or NULL. */
static Trigger *
sdr_guard(TriggerDesc *trigdesc)
{
	int			i;

	if (trigdesc == NULL)
		return NULL;
	for (i = 0; i < trigdesc->numtriggers; i++)
	{
		Trigger    *t = &trigdesc->triggers[i];

		if (t->tgfoid == sdr_funcs.guard &&
			rk_trigger_is(t->tgname, RK_TRIGGER_SOFT_DELETE) &&
			(t->tgnargs == 3 ||
			 (t->tgnargs == 4 && rk_option_value(t->tgargs[3], "time_zone") != NULL)) &&
			rk_option_value(t->tgargs[1], "by") != NULL &&
			rk_option_value(t->tgargs[2], "batch") != NULL)
			return t;
	}
	return NULL;
}

/* Fill entry t for its table (t->relid). */
static void
sdr_build_table(SdrTable *t)
{
	Relation	rel;
	Trigger    *guard;
	uint64		inval_count = sdr_inval_count;

	t->usable = false;
	t->cascade_missing = false;
	memset(&t->at, 0, sizeof(SdrColumn));
	t->at_utc = false;
	memset(&t->batch, 0, sizeof(SdrColumn));
	memset(&t->by, 0, sizeof(SdrColumn));
	t->valid = false;			/* until built (an error leaves it so) */

	/* the parser holds a lock on the table */
	rel = relation_open(t->relid, NoLock);
	guard = sdr_guard(rel->trigdesc);
	if (guard != NULL)
	{
		const char *by = rk_option_value(guard->tgargs[1], "by");
		const char *batch = rk_option_value(guard->tgargs[2], "batch");
		const char *time_zone = guard->tgnargs == 4
			? rk_option_value(guard->tgargs[3], "time_zone") : NULL;

		t->tgenabled = guard->tgenabled;
		if (sdr_table_column(rel, guard->tgargs[0], &t->at) &&
			(t->at.type == TIMESTAMPTZOID || t->at.type == TIMESTAMPOID) &&
			sdr_table_column(rel, batch, &t->batch) && t->batch.type == INT8OID &&
			(by[0] == '\0' || sdr_table_column(rel, by, &t->by)))
		{
			/* as _soft_delete_stamp(): absent means the session's time */
			t->at_utc = t->at.type == TIMESTAMPOID && time_zone != NULL &&
				strcmp(time_zone, "utc") == 0;

			/*
			 * deleted_at is an updated column (firing the cascade trigger,
			 * "AFTER UPDATE OF deleted_at") only where that does something:
			 * a foreign key references the table, another trigger is on
			 * that column, or a stored generated column may depend on it.
			 * Elsewhere the trigger's queue entry and WHEN clause would be
			 * most of what the marking costs over a hand-written UPDATE.
			 * A new foreign key invalidates the table's relcache entry,
			 * and with it this entry and the plans of its DELETEs.
			 */
			t->at_updated = rk_soft_delete_referenced(rel->trigdesc) ||
				sdr_column_trigger(rel->trigdesc, t->at.attno) ||
				(rel->rd_att->constr != NULL && rel->rd_att->constr->has_generated_stored);
			/* the cascade trigger exists only while the table is referenced */
			t->cascade_missing = rk_soft_delete_cascade_missing(rel);
			t->usable = true;
		}
	}
	relation_close(rel, NoLock);
	/* valid unless an invalidation arrived while it was being built */
	t->valid = (inval_count == sdr_inval_count);
}

static SdrTable *
sdr_get_table(Oid relid)
{
	SdrTable   *t;
	bool		found;

	if (sdr_tables == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(SdrTable);
		ctl.hcxt = CacheMemoryContext;
		sdr_tables = hash_create("rowkeeper soft-delete tables", 16, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	t = (SdrTable *) hash_search(sdr_tables, &relid, HASH_ENTER, &found);
	if (!found)
		t->valid = false;
	if (!t->valid)
		sdr_build_table(t);
	return t;
}

/* Would the table's guard trigger fire now (session_replication_role)? */
static bool
sdr_trigger_fires(char tgenabled)
{
	if (tgenabled == TRIGGER_FIRES_ALWAYS)
		return true;
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
		return tgenabled == TRIGGER_FIRES_ON_REPLICA;
	return tgenabled == TRIGGER_FIRES_ON_ORIGIN;
}

/* ---------------------------------------------------------------------
 * Parse analysis: DELETE -> marking UPDATE
 * ---------------------------------------------------------------------
 */

/*
 * In RETURNING, the bookkeeping columns read as before the marking: NULL.
 * At every query level (a sub-select in RETURNING may refer to the row).
 */
typedef struct SdrReturningSubst
{
	Index		rti;
	SdrTable   *t;
	int			sublevels_up;
} SdrReturningSubst;

static Node *
sdr_returning_mutator(Node *node, SdrReturningSubst *cx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if ((Index) var->varno == cx->rti && (int) var->varlevelsup == cx->sublevels_up &&
			(var->varattno == cx->t->at.attno ||
			 var->varattno == cx->t->batch.attno ||
			 (cx->t->by.attno != 0 && var->varattno == cx->t->by.attno)))
			return (Node *) makeNullConst(var->vartype, var->vartypmod, var->varcollid);
		return (Node *) copyObject(var);
	}
	if (IsA(node, Query))
	{
		Query	   *q;

		cx->sublevels_up++;
		q = query_tree_mutator((Query *) node, sdr_returning_mutator, (void *) cx, 0);
		cx->sublevels_up--;
		return (Node *) q;
	}
	return expression_tree_mutator(node, sdr_returning_mutator, (void *) cx);
}

/* Does the condition hold WHERE CURRENT OF? */
static bool
sdr_has_current_of(Node *node, void *cx)
{
	if (node == NULL)
		return false;
	if (IsA(node, CurrentOfExpr))
		return true;
	return expression_tree_walker(node, sdr_has_current_of, cx);
}

/* SET <col> = expr, coerced as an assignment; NULL if it cannot be. */
static TargetEntry *
sdr_assignment(ParseState *pstate, SdrColumn *col, Node *expr, Oid type)
{
	Node	   *value = coerce_to_target_type(pstate, expr, type, col->type, col->typmod,
											  COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);

	if (value == NULL)
		return NULL;
	return makeTargetEntry((Expr *) value, col->attno, pstrdup(col->name), false);
}

static int
sdr_tle_cmp(const ListCell *a, const ListCell *b)
{
	return ((TargetEntry *) lfirst(a))->resno - ((TargetEntry *) lfirst(b))->resno;
}

/* The SET list of the marking, in column order; NIL if it cannot be built. */
static List *
sdr_marking_tlist(ParseState *pstate, SdrTable *t)
{
	List	   *tlist = NIL;
	TargetEntry *tle;
	Node	   *now = (Node *) makeFuncExpr(F_NOW, TIMESTAMPTZOID, NIL, InvalidOid,
											InvalidOid, COERCE_EXPLICIT_CALL);

	/*
	 * A timestamp without time zone deleted_at in UTC: timezone('UTC',
	 * now()), i.e. now() AT TIME ZONE 'UTC', as the cascades write it
	 * (_soft_delete_stamp()); otherwise now(), which the assignment
	 * converts to the column's type (local time for timestamp).
	 */
	if (t->at_utc)
		tle = sdr_assignment(pstate, &t->at,
							 (Node *) makeFuncExpr(F_TIMEZONE_TEXT_TIMESTAMPTZ, TIMESTAMPOID,
												   list_make2(makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
																		CStringGetTextDatum("UTC"), false, false),
															  now),
												   InvalidOid, DEFAULT_COLLATION_OID,
												   COERCE_EXPLICIT_CALL),
							 TIMESTAMPOID);
	else
		tle = sdr_assignment(pstate, &t->at, now, TIMESTAMPTZOID);
	if (tle == NULL)
		return NIL;
	tlist = lappend(tlist, tle);
	tle = sdr_assignment(pstate, &t->batch,
						 (Node *) makeFuncExpr(sdr_funcs.batch, INT8OID, NIL, InvalidOid,
											   InvalidOid, COERCE_EXPLICIT_CALL),
						 INT8OID);
	if (tle == NULL)
		return NIL;
	tlist = lappend(tlist, tle);
	if (t->by.attno != 0)
	{
		tle = sdr_assignment(pstate, &t->by,
							 (Node *) makeFuncExpr(sdr_funcs.who, TEXTOID, NIL,
												   DEFAULT_COLLATION_OID, InvalidOid,
												   COERCE_EXPLICIT_CALL),
							 TEXTOID);
		if (tle == NULL)
			return NIL;
		tlist = lappend(tlist, tle);
	}
	list_sort(tlist, sdr_tle_cmp);
	return tlist;
}

/*
 * Turn the DELETE into the marking UPDATE of its table (see the file
 * header).  The caller checked that it can be.
 */
static void
sdr_rewrite_delete(ParseState *pstate, Query *query, SdrTable *t)
{
	List	   *tlist = sdr_marking_tlist(pstate, t);
	Index		rti = query->resultRelation;
	RkPermInfo *perm;
	Bitmapset  *updated = NULL;
	SdrReturningSubst subst;
	ListCell   *lc;

	if (tlist == NIL)
		return;

	/* only live rows are marked (a DELETE without WHERE reads no policy) */
	if (!sdr_has_current_of(query->jointree->quals, NULL))
	{
		NullTest   *live = makeNode(NullTest);

		live->arg = (Expr *) makeVar(rti, t->at.attno, t->at.type, t->at.typmod,
									 InvalidOid, 0);
		live->nulltesttype = IS_NULL;
		live->argisrow = false;
		live->location = -1;
		query->jointree->quals = query->jointree->quals == NULL ? (Node *) live
			: (Node *) makeBoolExpr(AND_EXPR, list_make2(query->jointree->quals, live), -1);
	}

	/*
	 * The privileges stay the DELETE's; the marked columns are the updated
	 * ones (column triggers, the executor's bookkeeping), not checked.
	 */
	perm = rk_query_perminfo(query, rt_fetch(rti, query->rtable));
	foreach(lc, tlist)
	{
		AttrNumber	attno = ((TargetEntry *) lfirst(lc))->resno;

		if (attno != t->at.attno || t->at_updated)
			updated = bms_add_member(updated, attno - FirstLowInvalidHeapAttributeNumber);
	}
	perm->updatedCols = updated;

	subst.rti = rti;
	subst.t = t;
	subst.sublevels_up = 0;
	query->returningList = (List *)
		sdr_returning_mutator((Node *) query->returningList, &subst);
	query->targetList = tlist;
	query->commandType = CMD_UPDATE;
}

static void sdr_maybe_rewrite(ParseState *pstate, Query *query);
static void sdr_rewrite_ctes(ParseState *pstate, Query *query);

static void
sdr_post_parse_analyze(ParseState *pstate, Query *query RK_JSTATE_PARAM)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query RK_JSTATE_ARG);

	if (!rk_soft_delete_rewrite)
		return;
	if (query->cteList != NIL && query->hasModifyingCTE)
		sdr_rewrite_ctes(pstate, query);
	if (query->commandType != CMD_DELETE || !query->canSetTag)
		return;
	sdr_maybe_rewrite(pstate, query);
}

/* A DELETE (the statement's or a WITH query's) on a soft-delete table. */
static void
sdr_maybe_rewrite(ParseState *pstate, Query *query)
{
	RangeTblEntry *rte;
	SdrTable   *t;

	if (query->resultRelation <= 0)
		return;
	/* PostgreSQL's foreign-key actions */
	if (InNoForceRLSOperation())
		return;
	rte = rt_fetch(query->resultRelation, query->rtable);
	if (rte->rtekind != RTE_RELATION ||
		(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE))
		return;
	/* hard_delete()'s own DELETE (here, or the coordinator's on a shard) */
	if (rk_soft_delete_hard_deleting_rel(rte->relid))
		return;
	if (!sdr_lookup_funcs())
		return;
	t = sdr_get_table(rte->relid);
	if (!t->usable || !sdr_trigger_fires(t->tgenabled))
		return;
	if (t->cascade_missing)
		rk_soft_delete_cascade_missing_error(get_rel_name(rte->relid));
	sdr_rewrite_delete(pstate, query, t);
}

/* DELETE queries in WITH, at any level of the statement. */
static void
sdr_rewrite_ctes(ParseState *pstate, Query *query)
{
	ListCell   *lc;

	foreach(lc, query->cteList)
	{
		CommonTableExpr *cte = (CommonTableExpr *) lfirst(lc);
		Query	   *sub = (Query *) cte->ctequery;

		if (!IsA(sub, Query))
			continue;
		sdr_rewrite_ctes(pstate, sub);
		if (sub->commandType == CMD_DELETE)
			sdr_maybe_rewrite(pstate, sub);
	}
}

/* ---------------------------------------------------------------------
 * Planning: relabel the plan as a DELETE
 * ---------------------------------------------------------------------
 */

/* Is parse (as the rewriter left it) one of our marking UPDATEs? */
static bool
sdr_is_marking(Query *parse, bool top)
{
	ListCell   *lc;

	if (parse->commandType != CMD_UPDATE || (top && !parse->canSetTag) ||
		!sdr_lookup_funcs())
		return false;
	foreach(lc, parse->targetList)
	{
		TargetEntry *tle = (TargetEntry *) lfirst(lc);

		if (IsA(tle->expr, FuncExpr) &&
			((FuncExpr *) tle->expr)->funcid == sdr_funcs.batch)
			return true;
	}
	return false;
}

/*
 * The marked row fails the SELECT policy rowkeeper_soft_delete (it is no
 * longer live), which PostgreSQL checks on the new row of an UPDATE that
 * reads the table: drop that one check.
 */
static void
sdr_drop_hiding_check(Query *parse)
{
	List	   *kept = NIL;
	ListCell   *lc;

	foreach(lc, parse->withCheckOptions)
	{
		WithCheckOption *wco = (WithCheckOption *) lfirst(lc);

		if (wco->kind == WCO_RLS_UPDATE_CHECK && wco->polname != NULL &&
			strcmp(wco->polname, RK_POLICY_SOFT_DELETE) == 0)
			continue;
		kept = lappend(kept, wco);
	}
	parse->withCheckOptions = kept;
}

static Node *sdr_hiding_qual(Node *qual, Oid *relid);

/*
 * The Citus form of the hiding policy names its table by text, resolved
 * when it runs (a worker knows the table by the shell Citus keeps there,
 * not by the coordinator's OID): 'schema.table'::text::regclass.
 */
static bool
sdr_citus_table_name(Node *arg)
{
	Node	   *inner;

	if (IsA(arg, FuncExpr) && ((FuncExpr *) arg)->funcid == F_REGCLASS &&
		list_length(((FuncExpr *) arg)->args) == 1)
		inner = linitial(((FuncExpr *) arg)->args);
	else if (IsA(arg, CoerceViaIO) && ((CoerceViaIO *) arg)->resulttype == REGCLASSOID)
		inner = (Node *) ((CoerceViaIO *) arg)->arg;
	else
		return false;
	return IsA(inner, Const) && ((Const *) inner)->consttype == TEXTOID &&
		!((Const *) inner)->constisnull;
}

/*
 * A marking UPDATE (sdr_rewrite_delete) checks less than PostgreSQL's row
 * security would add to it: the hiding policy's check of the new row goes
 * (sdr_drop_hiding_check), and so do the hiding policy's condition on the
 * table itself (the marking has "deleted_at IS NULL" of its own, unless
 * WHERE CURRENT OF) and checks that are the constant true (a permissive
 * "WITH CHECK (true)" policy): the same rows are marked, at the cost of a
 * hand-written UPDATE.
 */
static void
sdr_trim_marking(Query *q)
{
	RangeTblEntry *rte = rt_fetch(q->resultRelation, q->rtable);
	List	   *kept = NIL;
	ListCell   *lc;

	sdr_drop_hiding_check(q);
	foreach(lc, q->withCheckOptions)
	{
		WithCheckOption *wco = (WithCheckOption *) lfirst(lc);
		Const	   *c = (Const *) wco->qual;

		if (c != NULL && IsA(c, Const) && c->consttype == BOOLOID &&
			!c->constisnull && DatumGetBool(c->constvalue))
			continue;
		kept = lappend(kept, wco);
	}
	q->withCheckOptions = kept;
	if (!sdr_has_current_of(q->jointree->quals, NULL))
	{
		kept = NIL;
		foreach(lc, rte->securityQuals)
		{
			Oid			relid;

			if (sdr_hiding_qual((Node *) lfirst(lc), &relid) != NULL &&
				relid == rte->relid)
				continue;
			kept = lappend(kept, lfirst(lc));
		}
		rte->securityQuals = kept;
	}
}

/*
 * Is qual the hiding policy's "col IS NULL OR _soft_delete_visible(tbl)"?
 * Returns the "col IS NULL" half, and the table in *relid.
 */
static Node *
sdr_hiding_qual(Node *qual, Oid *relid)
{
	BoolExpr   *or = (BoolExpr *) qual;
	FuncExpr   *f;
	Const	   *c;

	if (qual == NULL || !IsA(or, BoolExpr) || or->boolop != OR_EXPR ||
		list_length(or->args) != 2 || !IsA(linitial(or->args), NullTest))
		return NULL;
	f = (FuncExpr *) lsecond(or->args);
	if (!IsA(f, FuncExpr) || f->funcid != sdr_funcs.visible || list_length(f->args) != 1)
		return NULL;
	c = (Const *) linitial(f->args);
	if (IsA(c, Const) && !c->constisnull)
		*relid = DatumGetObjectId(c->constvalue);
	else if (sdr_citus_table_name((Node *) c))
		*relid = InvalidOid;
	else
		return NULL;
	return (Node *) linitial(or->args);
}

/*
 * A soft DELETE inside a WITH query (marking q, not the statement itself)
 * on a Citus table: Citus plans and runs it apart from the statement, or
 * sends the whole statement to a shard, and neither reaches the workers as
 * the marking they accept (see "Citus: the marking UPDATE as a shard
 * receives it" below): refused here, with what to do instead, rather than
 * failing on the shards with a row-level security error.
 */
static void
sdr_refuse_citus_cte_marking(Query *q)
{
	Oid			relid;

	if (!rk_citus_active() || q->resultRelation <= 0)
		return;
	relid = rt_fetch(q->resultRelation, q->rtable)->relid;
	if (!rk_citus_table(relid))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("DELETE inside a WITH query is not supported on soft-delete Citus table %s",
					quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											   get_rel_name(relid))),
			 errdetail("Citus runs the WITH query's DELETE apart from the statement or sends the statement to a shard whole; the shards would not receive it as a soft delete."),
			 errhint("Run the DELETE ... RETURNING as a statement of its own; in the same transaction its rows share the deletion batch.")));
}

/*
 * Walk every query level: marking UPDATEs (the statement's and those in
 * WITH) lose the hiding check on their new row; the hiding policy's
 * condition becomes plain "col IS NULL" wherever the deleted rows are not
 * visible to this user now, so that the plan is the one of a hand-written
 * condition (partial indexes over live rows are used).  Plans that
 * hide more than they need to are re-made when rowkeeper.show_deleted
 * changes (soft_delete.c resets the plan cache) or the role does (as for
 * every plan under row-level security); never the other way round.
 */
static bool
sdr_plan_walker(Node *node, void *cx)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;
		ListCell   *lc;

		foreach(lc, rte->securityQuals)
		{
			Oid			relid;
			Node	   *live = sdr_hiding_qual((Node *) lfirst(lc), &relid);

			/* (the Citus form names no OID: left as it is) */
			if (live != NULL && OidIsValid(relid) && !rk_soft_delete_visible(relid))
				lfirst(lc) = live;
		}
		return false;
	}
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		if (sdr_is_marking(q, false))
		{
			if (q != (Query *) cx)
				sdr_refuse_citus_cte_marking(q);
			sdr_trim_marking(q);
		}
		return query_tree_walker(q, sdr_plan_walker, cx, QTW_EXAMINE_RTES_BEFORE);
	}
	return expression_tree_walker(node, sdr_plan_walker, cx);
}

/* ---------------------------------------------------------------------
 * Citus: the marking UPDATE as a shard receives it
 * ---------------------------------------------------------------------
 *
 * On the coordinator a DELETE on a soft-delete Citus table becomes the
 * marking UPDATE as on one node; Citus evaluates its now(),
 * _soft_delete_batch() and _soft_delete_who() there and sends each shard
 * a plain UPDATE with those values as constants.  On the shard every
 * policy is permissive (Citus drops AS RESTRICTIVE), so the check of the
 * new row against the SELECT policies is one ORed condition, in which
 * every policy carries the hiding condition (src/sql/20_soft_delete.sql,
 * the Citus form): the marked row would fail it.  sdr_shard_marking()
 * recognises the marking, and only it:
 *	- an UPDATE of a soft-delete table (a shard: its guard trigger says
 *	  which columns) in a backend with Citus loaded;
 *	- that sets exactly the marking columns, to constants: the batch id
 *	  the coordinator sent for this transaction
 *	  (rowkeeper.coordinator_soft_delete_batch), deleted_at the
 *	  coordinator's transaction start (now() there), deleted_by who
 *	  deletes (the actor the coordinator sent, else the user);
 *	- of live rows only ("deleted_at IS NULL" is a condition of its WHERE).
 * Then the hiding condition inside the new-row checks becomes true (the
 * tenant's condition stays), and the statement needs the DELETE privilege
 * on the shard instead of UPDATE, as on the coordinator.  An UPDATE
 * written to look like one (the settings can be SET by anyone) marks only
 * rows its user could soft-delete with a DELETE, with the values a DELETE
 * would have written; anything else is an ordinary UPDATE and fails the
 * check as on one node.
 */

/* Is expr, folded, a non-null constant?  Returns it or NULL. */
static Const *
sdr_const(Expr *expr)
{
	Node	   *n = eval_const_expressions(NULL, (Node *) expr);

	return IsA(n, Const) && !((Const *) n)->constisnull ? (Const *) n : NULL;
}

/* Is "Var(rti, attno) IS NULL" one of the ANDed conditions of qual? */
static bool
sdr_has_live_condition(Node *qual, Index rti, AttrNumber attno)
{
	ListCell   *lc;

	if (qual == NULL)
		return false;
	if (IsA(qual, List))
	{
		foreach(lc, (List *) qual)
			if (sdr_has_live_condition(lfirst(lc), rti, attno))
				return true;
		return false;
	}
	if (IsA(qual, BoolExpr) && ((BoolExpr *) qual)->boolop == AND_EXPR)
		return sdr_has_live_condition((Node *) ((BoolExpr *) qual)->args, rti, attno);
	if (IsA(qual, NullTest) && ((NullTest *) qual)->nulltesttype == IS_NULL &&
		IsA(((NullTest *) qual)->arg, Var))
	{
		Var		   *v = (Var *) ((NullTest *) qual)->arg;

		return (Index) v->varno == rti && v->varattno == attno && v->varlevelsup == 0;
	}
	return false;
}

/* Do the SET values equal what the coordinator's marking wrote? */
static bool
sdr_shard_marking_values(Query *parse, SdrTable *t)
{
	TimestampTz coordinator_time;
	int64		batch;
	int			nset = 0;
	ListCell   *lc;

	/* in the coordinator's own backend (its placement), its own batch */
	if (!rk_citus_coordinator_batch(&batch) && !rk_soft_delete_current_batch(&batch))
		return false;
	if (!rk_citus_coordinator_time(&coordinator_time))
		coordinator_time = GetCurrentTransactionStartTimestamp();
	foreach(lc, parse->targetList)
	{
		TargetEntry *tle = (TargetEntry *) lfirst(lc);
		Const	   *c;

		if (tle->resjunk)
			continue;
		nset++;
		c = sdr_const(tle->expr);
		if (c == NULL)
			return false;
		if (tle->resno == t->batch.attno)
		{
			if (c->consttype != INT8OID || DatumGetInt64(c->constvalue) != batch)
				return false;
		}
		else if (tle->resno == t->at.attno)
		{
			/*
			 * timestamptz, or timestamp kept in UTC: the same microseconds,
			 * rounded to the column's precision as the assignment did
			 * (timestamp(3): Prisma's DateTime); a timestamp in the
			 * session's zone cannot be checked here (refused on Citus)
			 */
			Datum		expected = TimestampTzGetDatum(coordinator_time);

			if (!(c->consttype == TIMESTAMPTZOID ||
				  (c->consttype == TIMESTAMPOID && t->at_utc)))
				return false;
			if (t->at.typmod >= 0)
				expected = DirectFunctionCall2(c->consttype == TIMESTAMPTZOID
											   ? timestamptz_scale : timestamp_scale,
											   expected, Int32GetDatum(t->at.typmod));
			if (DatumGetTimestampTz(c->constvalue) != DatumGetTimestampTz(expected))
				return false;
		}
		else if (t->by.attno != 0 && tle->resno == t->by.attno)
		{
			text	   *who = rk_soft_delete_who();

			if ((c->consttype != TEXTOID && c->consttype != VARCHAROID) ||
				!DatumGetBool(DirectFunctionCall2Coll(texteq, DEFAULT_COLLATION_OID,
													  c->constvalue, PointerGetDatum(who))))
				return false;
		}
		else
			return false;
	}
	return nset == (t->by.attno != 0 ? 3 : 2);
}

/* Is parse the marking UPDATE of a shard (see above)? */
static bool
sdr_shard_marking(Query *parse)
{
	RangeTblEntry *rte;
	SdrTable   *t;

	if (parse->commandType != CMD_UPDATE || !parse->canSetTag ||
		parse->resultRelation <= 0 || !rk_citus_active() || !sdr_lookup_funcs())
		return false;
	rte = rt_fetch(parse->resultRelation, parse->rtable);
	if (rte->rtekind != RTE_RELATION ||
		(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE))
		return false;
	t = sdr_get_table(rte->relid);
	return t->usable && sdr_trigger_fires(t->tgenabled) &&
		sdr_has_live_condition(parse->jointree->quals, parse->resultRelation, t->at.attno) &&
		sdr_shard_marking_values(parse, t);
}

/* The hiding condition, wherever it is in a check, becomes true. */
static Node *
sdr_unhide_mutator(Node *node, void *cx)
{
	Oid			relid;

	if (node == NULL)
		return NULL;
	if (sdr_hiding_qual(node, &relid) != NULL)
		return makeBoolConst(true, false);
	return expression_tree_mutator(node, sdr_unhide_mutator, cx);
}

/* Let the shard's marking UPDATE through as the coordinator's DELETE. */
static void
sdr_trim_shard_marking(Query *parse)
{
	RkPermInfo *perm = rk_query_perminfo(parse, rt_fetch(parse->resultRelation, parse->rtable));
	ListCell   *lc;

	foreach(lc, parse->withCheckOptions)
	{
		WithCheckOption *wco = (WithCheckOption *) lfirst(lc);

		if (wco->kind == WCO_RLS_UPDATE_CHECK)
			wco->qual = sdr_unhide_mutator(wco->qual, NULL);
	}
	perm->requiredPerms = (perm->requiredPerms & ~ACL_UPDATE) | ACL_DELETE;
}

/*
 * Does this plan soft-delete rows of a soft-delete table (a DELETE that was
 * rewritten, here or by Citus's planner)?  For citus.c, which sends the
 * transaction's batch id to the workers before the statement runs.
 */
bool
rk_soft_delete_plan_marks(PlannedStmt *stmt)
{
	ListCell   *lc;

	if (stmt->commandType != CMD_DELETE || !rk_soft_delete_rewrite ||
		!sdr_lookup_funcs())
		return false;
	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION &&
			(rte->relkind == RELKIND_RELATION || rte->relkind == RELKIND_PARTITIONED_TABLE) &&
			!rk_soft_delete_hard_deleting_rel(rte->relid) &&
			sdr_get_table(rte->relid)->usable)
			return true;
	}
	return false;
}

static PlannedStmt *
sdr_planner(Query *parse, const char *query_string, int cursorOptions,
			ParamListInfo boundParams)
{
	bool		marking = sdr_is_marking(parse, true);
	PlannedStmt *stmt;

	if ((parse->hasRowSecurity || parse->hasModifyingCTE) && sdr_lookup_funcs())
		sdr_plan_walker((Node *) parse, parse);
	if (!marking && parse->hasRowSecurity && sdr_shard_marking(parse))
		sdr_trim_shard_marking(parse);
	if (prev_planner)
		stmt = prev_planner(parse, query_string, cursorOptions, boundParams);
	else
		stmt = standard_planner(parse, query_string, cursorOptions, boundParams);
	if (marking)
		stmt->commandType = CMD_DELETE;
	return stmt;
}

/* ---------------------------------------------------------------------
 * Execution: one user per statement
 * ---------------------------------------------------------------------
 */

static bool
sdr_is_relabelled(PlannedStmt *stmt)
{
	return stmt->commandType == CMD_DELETE && stmt->planTree != NULL &&
		IsA(stmt->planTree, ModifyTable) &&
		((ModifyTable *) stmt->planTree)->operation == CMD_UPDATE;
}

static void
sdr_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (sdr_is_relabelled(queryDesc->plannedstmt))
	{
		SdrStatement *st;

		if (sdr_depth == sdr_stack_size)
		{
			int			size = Max(8, sdr_stack_size * 2);

			sdr_stack = sdr_stack == NULL
				? MemoryContextAlloc(TopMemoryContext, sizeof(SdrStatement) * size)
				: repalloc(sdr_stack, sizeof(SdrStatement) * size);
			sdr_stack_size = size;
		}
		st = &sdr_stack[sdr_depth++];
		st->qd = queryDesc;
		st->subid = GetCurrentSubTransactionId();
		st->who = NULL;
	}
}

static void
sdr_executor_end(QueryDesc *queryDesc)
{
	int			i;

	for (i = sdr_depth - 1; i >= 0; i--)
		if (sdr_stack[i].qd == queryDesc)
		{
			sdr_depth = i;
			break;
		}

	if (prev_executor_end)
		prev_executor_end(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*
 * rowkeeper._soft_delete_batch(): the transaction's deletion batch id.
 * Harmless anywhere (a DELETE in a WITH query calls it outside a
 * relabelled statement).
 */
Datum
soft_delete_batch(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(rk_soft_delete_next_batch());
}

/*
 * rowkeeper._soft_delete_who(): who deletes (rowkeeper.actor, else the
 * user), once per relabelled statement.
 */
Datum
soft_delete_who(PG_FUNCTION_ARGS)
{
	SdrStatement *st;

	if (sdr_depth == 0)
		PG_RETURN_TEXT_P(rk_soft_delete_who());
	st = &sdr_stack[sdr_depth - 1];
	if (st->who == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		st->who = rk_soft_delete_who();
		MemoryContextSwitchTo(old);
	}
	PG_RETURN_TEXT_P(st->who);
}

/* ---------------------------------------------------------------------
 * Set-up (from _PG_init)
 * ---------------------------------------------------------------------
 */
void
rk_soft_delete_rewrite_init(void)
{
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = sdr_post_parse_analyze;
	prev_planner = planner_hook;
	planner_hook = sdr_planner;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = sdr_executor_start;
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = sdr_executor_end;

	CacheRegisterRelcacheCallback(sdr_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, sdr_proc_callback, (Datum) 0);
	RegisterXactCallback(sdr_xact_callback, NULL);
	RegisterSubXactCallback(sdr_subxact_callback, NULL);
}
