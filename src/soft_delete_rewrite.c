/*-------------------------------------------------------------------------
 *
 * soft_delete_rewrite.c
 *	  The fast paths of soft delete: a DELETE on a soft-delete view becomes,
 *	  at parse analysis, the UPDATE that marks the rows, and still reports
 *	  itself as a DELETE; a SELECT from the view reads the table with
 *	  "deleted_at IS NULL" without expanding the view.
 *
 *	  The INSTEAD OF trigger of soft_delete.c is always there and always
 *	  correct, but it marks each row with an UPDATE of its own: a second
 *	  executor cycle per row, which costs about a third of a single-row
 *	  soft DELETE.  When this library is loaded in the backend before the
 *	  statement is parsed (shared_preload_libraries or
 *	  session_preload_libraries; README "Soft delete"), four hooks do the
 *	  marking in the statement itself:
 *
 *	  post_parse_analyze_hook
 *		DELETE FROM view [USING ...] WHERE ... [RETURNING ...] becomes
 *		UPDATE base SET deleted_at = now(), <batch> = _soft_delete_batch()
 *		[, <by> = _soft_delete_who()] WHERE ... AND deleted_at IS NULL
 *		(now() AT TIME ZONE 'UTC' for a timestamp without time zone column
 *		kept in UTC, time_zone=utc, as the trigger writes it), with
 *		the same range table, condition and RETURNING list, the view's
 *		columns replaced by the table's.  This is what PostgreSQL's rewriter
 *		would make of an UPDATE through the (auto-updatable,
 *		security_invoker) view, done here directly because going through the
 *		view costs a third more parsing and planning.  The view keeps its
 *		range table entry for the caller's DELETE privilege (and SELECT of
 *		the columns WHERE and RETURNING read); the table gets UPDATE of the
 *		marked columns and SELECT of every column the view shows, checked
 *		for the invoker: exactly what the trigger path needs (PostgreSQL's
 *		expansion of the view reads them all, the trigger's UPDATE writes
 *		the marked ones), so column-level grants allow the same DELETEs on
 *		both paths.  Its row-level security policies for UPDATE apply, as
 *		for the UPDATE the trigger runs.  RETURNING reports the row as
 *		the DELETE through the trigger does, as it was before the marking:
 *		the three bookkeeping columns read NULL (what every live row holds,
 *		see below), and a DELETE whose RETURNING could see something else
 *		the marking changes (a BEFORE UPDATE trigger that may change the
 *		row, a stored generated column, a partitioned table) is left to the
 *		trigger.
 *
 *		The same hook makes a SELECT with a soft-delete view directly in its
 *		FROM list read the table in the view's place with "deleted_at IS
 *		NULL" added to WHERE: the plan PostgreSQL makes of the view, without
 *		rewriting and pulling up the view's query on every parse (a third of
 *		a simple-protocol lookup).  Views inside joins, subqueries and WITH
 *		queries, whole-row references, FOR UPDATE and set operations are
 *		left to PostgreSQL's expansion.
 *
 *	  ProcessUtility_hook
 *		CREATE VIEW parses its query with the same hook: nothing is
 *		rewritten while it runs, so a view over a soft-delete view stores
 *		what its author wrote.
 *
 *	  planner_hook
 *		The plan of such a statement is relabelled: PlannedStmt.commandType
 *		says DELETE (its ModifyTable still updates), so the command tag is
 *		"DELETE n", SPI reports SPI_OK_DELETE (PL/pgSQL's ROW_COUNT and
 *		FOUND), and a read-only transaction refuses "DELETE".
 *
 *	  ExecutorStart_hook / ExecutorEnd_hook
 *		Keep a stack of the relabelled statements running in this backend,
 *		so that _soft_delete_batch() hands out one batch id per statement
 *		(a partitioned table's scans evaluate the expression once per
 *		partition) and _soft_delete_who() computes the user once.
 *
 *	  The DELETE is left alone, and the trigger does the work, whenever
 *	  something could make the two paths differ: the table is referenced by
 *	  a foreign key (the trigger cascades and restricts), the view is not
 *	  the plain security_invoker "SELECT * ... WHERE deleted_at IS NULL"
 *	  that enable_soft_delete() made, has other triggers, rules, a check
 *	  option or security_barrier, the trigger is disabled, WHERE CURRENT OF, a whole-row or
 *	  sub-select reference in RETURNING, a DELETE inside a WITH query, or
 *	  rowkeeper.soft_delete_rewrite is off.  What the view and base table
 *	  allow is cached per view, invalidated by relcache callbacks on both,
 *	  and by a pg_proc callback that also forgets our functions' OIDs.
 *
 *	  Known difference, documented: a plan cached while
 *	  session_replication_role was "origin" keeps marking rows if the role
 *	  is changed to "replica" later in the session (the trigger would then
 *	  not fire and the DELETE would fail).  Rows whose bookkeeping columns
 *	  were written by the application while live report those values
 *	  through the trigger and NULL through this path.
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
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "parser/parse_coerce.h"
#include "parser/parse_func.h"
#include "parser/parsetree.h"
#include "parser/parse_relation.h"
#include "rewrite/rewriteHandler.h"
#include "rewrite/rewriteManip.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "compat.h"
#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(soft_delete_batch);
PG_FUNCTION_INFO_V1(soft_delete_who);

/* rowkeeper.soft_delete_rewrite */
static bool sdr_enabled = true;

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static planner_hook_type prev_planner = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;

/* Our functions in this database; found = false: look them up again. */
typedef struct SdrFuncs
{
	bool		found;
	bool		installed;		/* the extension is there */
	Oid			view_trigger;	/* rowkeeper.soft_delete_trigger() */
	Oid			guard;			/* rowkeeper.soft_delete_guard() */
	Oid			tenant_immutable;	/* changes no column */
	Oid			batch;			/* rowkeeper._soft_delete_batch() */
	Oid			who;			/* rowkeeper._soft_delete_who() */
} SdrFuncs;

static SdrFuncs sdr_funcs;

/* One marked column: where it is in the view, and its type. */
typedef struct SdrColumn
{
	AttrNumber	attno;			/* in the view; 0: not configured */
	AttrNumber	base_attno;		/* in the base table */
	Oid			type;
	int32		typmod;
	char		name[NAMEDATALEN];
} SdrColumn;

/* What a soft-delete view allows (cache entry, keyed by the view's OID). */
typedef struct SdrView
{
	Oid			view;
	bool		valid;
	bool		readable;		/* a SELECT from it may read the table */
	bool		usable;			/* a DELETE on it may be rewritten */
	bool		returning_ok;	/* ... also one with RETURNING */
	bool		inh;			/* the view reads the table's partitions/children */
	int			nmap;			/* view columns */
	AttrNumber *map;			/* view attno -> table attno ([0] unused) */
	bool		trigger_ok;		/* our INSTEAD OF DELETE trigger, nothing else */
	char		tgenabled;		/* of the INSTEAD OF DELETE trigger */
	Oid			base;
	Index		base_rti;		/* the base table in the view's query */
	SdrColumn	at;
	bool		at_utc;			/* timestamp deleted_at written in UTC */
	SdrColumn	batch;
	SdrColumn	by;
} SdrView;

static HTAB *sdr_views = NULL;

/* Bumped by every invalidation: an entry built across one is not valid. */
static uint64 sdr_inval_count = 0;

/* A relabelled statement being executed. */
typedef struct SdrStatement
{
	QueryDesc  *qd;
	SubTransactionId subid;
	bool		batch_set;
	int64		batch;
	text	   *who;			/* in TopTransactionContext; NULL: not yet */
} SdrStatement;

/*
 * > 0 while CREATE [OR REPLACE] VIEW runs: PostgreSQL parses the view's
 * query with the same hooks, and a view must store what its author wrote.
 */
static int	sdr_in_view_definition = 0;

static ProcessUtility_hook_type prev_process_utility = NULL;

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
	SdrView    *v;

	sdr_inval_count++;
	if (sdr_views == NULL)
		return;
	hash_seq_init(&status, sdr_views);
	while ((v = (SdrView *) hash_seq_search(&status)) != NULL)
		if (relid == InvalidOid || v->view == relid || v->base == relid)
			v->valid = false;
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
	nsp = get_namespace_oid("rowkeeper", true);
	if (OidIsValid(nsp))
	{
		sdr_funcs.view_trigger = sdr_func(nsp, "soft_delete_trigger");
		sdr_funcs.guard = sdr_func(nsp, "soft_delete_guard");
		sdr_funcs.tenant_immutable = sdr_func(nsp, "tenant_immutable_trigger");
		sdr_funcs.batch = sdr_func(nsp, "_soft_delete_batch");
		sdr_funcs.who = sdr_func(nsp, "_soft_delete_who");
		sdr_funcs.installed = OidIsValid(sdr_funcs.view_trigger) &&
			OidIsValid(sdr_funcs.guard) && OidIsValid(sdr_funcs.batch) &&
			OidIsValid(sdr_funcs.who);
	}
	sdr_funcs.found = true;
	return sdr_funcs.installed;
}

/*
 * The view column that shows base column "name" unchanged; false if the
 * view has none.
 */
static bool
sdr_view_column(Query *viewquery, Index base_rti, Relation base,
				const char *name, SdrColumn *col)
{
	AttrNumber	base_attno = get_attnum(RelationGetRelid(base), name);
	ListCell   *lc;

	if (base_attno <= 0)
		return false;
	foreach(lc, viewquery->targetList)
	{
		TargetEntry *tle = (TargetEntry *) lfirst(lc);
		Var		   *var = (Var *) tle->expr;

		if (tle->resjunk || tle->resname == NULL || strcmp(tle->resname, name) != 0)
			continue;
		if (!IsA(var, Var) || (Index) var->varno != base_rti || var->varlevelsup != 0 ||
			var->varattno != base_attno)
			return false;
		col->attno = tle->resno;
		col->base_attno = base_attno;
		col->type = var->vartype;
		col->typmod = var->vartypmod;
		strlcpy(col->name, name, NAMEDATALEN);
		return true;
	}
	return false;
}

/*
 * May a BEFORE UPDATE row trigger of the base table change the row the
 * marking writes?  Only our guard and tenant triggers are known not to.
 */
static bool
sdr_before_update_may_change(TriggerDesc *trigdesc)
{
	int			i;

	if (trigdesc == NULL)
		return false;
	for (i = 0; i < trigdesc->numtriggers; i++)
	{
		Trigger    *t = &trigdesc->triggers[i];

		if (!TRIGGER_FOR_ROW(t->tgtype) || !TRIGGER_FOR_BEFORE(t->tgtype) ||
			!TRIGGER_FOR_UPDATE(t->tgtype))
			continue;
		if (t->tgfoid != sdr_funcs.guard && t->tgfoid != sdr_funcs.tenant_immutable)
			return true;
	}
	return false;
}

/* Is base referenced by a foreign key (it has the referenced side's triggers)? */
static bool
sdr_is_referenced(TriggerDesc *trigdesc)
{
	int			i;

	if (trigdesc == NULL)
		return false;
	for (i = 0; i < trigdesc->numtriggers; i++)
		if (RI_FKey_trigger_type(trigdesc->triggers[i].tgfoid) == RI_TRIGGER_PK)
			return true;
	return false;
}

/* The guard trigger of the base table and its arguments, or NULL. */
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
			strcmp(t->tgname, "rowkeeper_soft_delete") == 0 &&
			(t->tgnargs == 3 ||
			 (t->tgnargs == 4 && rk_option_value(t->tgargs[3], "time_zone") != NULL)) &&
			rk_option_value(t->tgargs[1], "by") != NULL &&
			rk_option_value(t->tgargs[2], "batch") != NULL)
			return t;
	}
	return NULL;
}

/*
 * The view side of the checks.  A soft-delete view has our INSTEAD OF
 * DELETE trigger; reading through it may be rewritten when it is a plain
 * security_invoker "SELECT ... FROM base WHERE <column> IS NULL" with no
 * rule but its own and no security barrier; a DELETE also needs that
 * trigger to be the view's only one, and no check option (trigger_ok).
 * Returns the base table's range table index in the view's query, or 0.
 */
static Index
sdr_check_view(Relation view, Query *viewquery, SdrView *v)
{
	TriggerDesc *td = view->trigdesc;
	Trigger    *ours = NULL;
	RangeTblRef *rtr;
	RangeTblEntry *base_rte;
	int			i;

	v->trigger_ok = false;
	for (i = 0; td != NULL && i < td->numtriggers; i++)
		if (td->triggers[i].tgfoid == sdr_funcs.view_trigger)
			ours = &td->triggers[i];
	if (ours == NULL)
		return 0;
	v->tgenabled = ours->tgenabled;
	v->trigger_ok = td->numtriggers == 1 && TRIGGER_FOR_ROW(ours->tgtype) &&
		TRIGGER_FOR_INSTEAD(ours->tgtype) && TRIGGER_FOR_DELETE(ours->tgtype) &&
		!TRIGGER_FOR_UPDATE(ours->tgtype) && !TRIGGER_FOR_INSERT(ours->tgtype) &&
		!RelationHasCheckOption(view);
	if (view->rd_rules == NULL || view->rd_rules->numLocks != 1 ||
		!RelationHasSecurityInvoker(view) || RelationIsSecurityView(view))
		return 0;
	if (viewquery == NULL || view_query_is_auto_updatable(viewquery, false) != NULL ||
		list_length(viewquery->jointree->fromlist) != 1 ||
		!IsA(linitial(viewquery->jointree->fromlist), RangeTblRef))
		return 0;
	rtr = (RangeTblRef *) linitial(viewquery->jointree->fromlist);
	base_rte = rt_fetch(rtr->rtindex, viewquery->rtable);
	if (base_rte->rtekind != RTE_RELATION)
		return 0;
	v->base = base_rte->relid;
	return rtr->rtindex;
}

/* Is qual exactly "<base column> IS NULL"? */
static bool
sdr_qual_is_live(Node *qual, Index base_rti, Relation base, const char *column)
{
	NullTest   *nt = (NullTest *) qual;
	Var		   *var;

	if (qual == NULL || !IsA(nt, NullTest) || nt->nulltesttype != IS_NULL ||
		nt->argisrow || !IsA(nt->arg, Var))
		return false;
	var = (Var *) nt->arg;
	return (Index) var->varno == base_rti && var->varlevelsup == 0 &&
		var->varattno == get_attnum(RelationGetRelid(base), column);
}

/* Fill entry v for its view (v->view). */
static void
sdr_build_view(SdrView *v)
{
	Relation	view;
	Relation	base;
	Query	   *viewquery;
	Index		base_rti;
	Trigger    *guard;
	const char *column = NULL;
	const char *by = NULL;
	const char *batch = NULL;
	const char *time_zone = NULL;
	ListCell   *lc;
	uint64		inval_count = sdr_inval_count;

	v->readable = false;
	v->usable = false;
	v->returning_ok = false;
	v->base = InvalidOid;
	memset(&v->at, 0, sizeof(SdrColumn));
	v->at_utc = false;
	memset(&v->batch, 0, sizeof(SdrColumn));
	memset(&v->by, 0, sizeof(SdrColumn));
	if (v->map != NULL)
		pfree(v->map);
	v->map = NULL;
	v->nmap = 0;
	v->valid = false;			/* until built (an error leaves it so) */

	/* the parser holds a lock on the view */
	view = relation_open(v->view, NoLock);
	viewquery = get_view_query(view);
	base_rti = sdr_check_view(view, viewquery, v);
	v->base_rti = base_rti;
	if (base_rti == 0)
	{
		relation_close(view, NoLock);
		v->valid = (inval_count == sdr_inval_count);
		return;
	}
	v->inh = rt_fetch(base_rti, viewquery->rtable)->inh;

	base = relation_open(v->base, AccessShareLock);
	guard = sdr_guard(base->trigdesc);
	if (guard != NULL)
	{
		column = guard->tgargs[0];
		by = rk_option_value(guard->tgargs[1], "by");
		batch = rk_option_value(guard->tgargs[2], "batch");
		if (guard->tgnargs == 4)
			time_zone = rk_option_value(guard->tgargs[3], "time_zone");
	}
	if (guard != NULL &&
		sdr_qual_is_live(viewquery->jointree->quals, base_rti, base, column) &&
		sdr_view_column(viewquery, base_rti, base, column, &v->at) &&
		(v->at.type == TIMESTAMPTZOID || v->at.type == TIMESTAMPOID) &&
		sdr_view_column(viewquery, base_rti, base, batch, &v->batch) &&
		v->batch.type == INT8OID &&
		(by[0] == '\0' || sdr_view_column(viewquery, base_rti, base, by, &v->by)))
	{
		/* as _soft_delete_stamp(): absent means the session's time */
		v->at_utc = v->at.type == TIMESTAMPOID && time_zone != NULL &&
			strcmp(time_zone, "utc") == 0;

		/* every view column a plain column of the table: the map */
		v->readable = true;
		v->nmap = list_length(viewquery->targetList);
		v->map = MemoryContextAllocZero(CacheMemoryContext,
										sizeof(AttrNumber) * (v->nmap + 1));
		foreach(lc, viewquery->targetList)
		{
			TargetEntry *tle = (TargetEntry *) lfirst(lc);
			Var		   *var = (Var *) tle->expr;

			if (tle->resjunk || tle->resno > v->nmap || !IsA(var, Var) ||
				(Index) var->varno != base_rti || var->varlevelsup != 0 ||
				var->varattno <= 0)
			{
				v->readable = false;
				break;
			}
			v->map[tle->resno] = var->varattno;
		}

		/* DELETE: the trigger cascades and restricts for referenced tables */
		v->usable = v->readable && v->trigger_ok && !sdr_is_referenced(base->trigdesc);

		/* RETURNING: the base row unchanged but for the three columns */
		v->returning_ok =
			base->rd_rel->relkind == RELKIND_RELATION &&
			!(base->rd_att->constr && base->rd_att->constr->has_generated_stored) &&
			!sdr_before_update_may_change(base->trigdesc);
	}
	relation_close(base, AccessShareLock);
	relation_close(view, NoLock);
	/* valid unless an invalidation arrived while it was being built */
	v->valid = (inval_count == sdr_inval_count);
}

static SdrView *
sdr_get_view(Oid viewid)
{
	SdrView    *v;
	bool		found;

	if (sdr_views == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(SdrView);
		ctl.hcxt = CacheMemoryContext;
		sdr_views = hash_create("rowkeeper soft-delete views", 16, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	v = (SdrView *) hash_search(sdr_views, &viewid, HASH_ENTER, &found);
	if (!found)
	{
		v->valid = false;
		v->map = NULL;
	}
	if (!v->valid)
		sdr_build_view(v);
	return v;
}

/* Would the view's INSTEAD OF trigger fire now (session_replication_role)? */
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
 * A sub-select in RETURNING could read the marked columns of the new row;
 * the NULL substitution below only reaches the top level.  (Whole-row
 * references anywhere are refused by sdr_refs_bad.)
 */
static bool
sdr_has_sublink(Node *node, void *cx)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubLink))
		return true;
	return expression_tree_walker(node, sdr_has_sublink, cx);
}

typedef struct SdrReturningSubst
{
	Index		rti;
	SdrView    *v;
} SdrReturningSubst;

/* In RETURNING, the bookkeeping columns read as before the marking: NULL. */
static Node *
sdr_returning_mutator(Node *node, SdrReturningSubst *cx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if ((Index) var->varno == cx->rti && var->varlevelsup == 0 &&
			(var->varattno == cx->v->at.base_attno ||
			 var->varattno == cx->v->batch.base_attno ||
			 (cx->v->by.attno != 0 && var->varattno == cx->v->by.base_attno)))
			return (Node *) makeNullConst(var->vartype, var->vartypmod, var->varcollid);
		return node;
	}
	return expression_tree_mutator(node, sdr_returning_mutator, (void *) cx);
}

/* SET <col> = expr, coerced as an assignment; NULL if it cannot be. */
static TargetEntry *
sdr_assignment(ParseState *pstate, SdrColumn *col, Node *expr, Oid type)
{
	Node	   *value = coerce_to_target_type(pstate, expr, type, col->type, col->typmod,
											  COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);

	if (value == NULL)
		return NULL;
	return makeTargetEntry((Expr *) value, col->base_attno, pstrdup(col->name), false);
}

static int
sdr_tle_cmp(const ListCell *a, const ListCell *b)
{
	return ((TargetEntry *) lfirst(a))->resno - ((TargetEntry *) lfirst(b))->resno;
}

/* The SET list of the marking, in column order; NIL if it cannot be built. */
static List *
sdr_marking_tlist(ParseState *pstate, SdrView *v)
{
	List	   *tlist = NIL;
	TargetEntry *tle;
	Node	   *now = (Node *) makeFuncExpr(F_NOW, TIMESTAMPTZOID, NIL, InvalidOid,
											InvalidOid, COERCE_EXPLICIT_CALL);

	/*
	 * A timestamp without time zone deleted_at in UTC: timezone('UTC',
	 * now()), i.e. now() AT TIME ZONE 'UTC', as the trigger's UPDATE
	 * writes it (_soft_delete_stamp()); otherwise now(), which the
	 * assignment converts to the column's type (local time for timestamp).
	 */
	if (v->at_utc)
		tle = sdr_assignment(pstate, &v->at,
							 (Node *) makeFuncExpr(F_TIMEZONE_TEXT_TIMESTAMPTZ, TIMESTAMPOID,
												   list_make2(makeConst(TEXTOID, -1, DEFAULT_COLLATION_OID, -1,
																		CStringGetTextDatum("UTC"), false, false),
															  now),
												   InvalidOid, DEFAULT_COLLATION_OID,
												   COERCE_EXPLICIT_CALL),
							 TIMESTAMPOID);
	else
		tle = sdr_assignment(pstate, &v->at, now, TIMESTAMPTZOID);
	if (tle == NULL)
		return NIL;
	tlist = lappend(tlist, tle);
	tle = sdr_assignment(pstate, &v->batch,
						 (Node *) makeFuncExpr(sdr_funcs.batch, INT8OID, NIL, InvalidOid,
											   InvalidOid, COERCE_EXPLICIT_CALL),
						 INT8OID);
	if (tle == NULL)
		return NIL;
	tlist = lappend(tlist, tle);
	if (v->by.attno != 0)
	{
		tle = sdr_assignment(pstate, &v->by,
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
 * The base table's columns behind a set of the view's columns (bits offset
 * by FirstLowInvalidHeapAttributeNumber; a whole-row bit means all).
 */
static Bitmapset *
sdr_base_columns(Bitmapset *view_cols, SdrView *v)
{
	Bitmapset  *out = NULL;
	int			col = -1;
	int			i;

	while ((col = bms_next_member(view_cols, col)) >= 0)
	{
		AttrNumber	attno = col + FirstLowInvalidHeapAttributeNumber;

		if (attno == InvalidAttrNumber)
		{
			for (i = 1; i <= v->nmap; i++)
				out = bms_add_member(out, v->map[i] - FirstLowInvalidHeapAttributeNumber);
		}
		else if (attno > 0 && attno <= v->nmap)
			out = bms_add_member(out, v->map[attno] - FirstLowInvalidHeapAttributeNumber);
	}
	return out;
}

/*
 * References to the view's columns, at every query level: counted as bad
 * (a whole-row or system column reference, which has no plain column of
 * the table behind it) or, when remapping, redirected to the table.
 */
typedef struct SdrRemap
{
	Index		from;			/* the view's range table index */
	Index		to;				/* the table's */
	SdrView    *v;
	int			sublevels_up;
	bool		remap;
	bool		bad;
} SdrRemap;

static bool
sdr_remap_walker(Node *node, SdrRemap *cx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if ((int) var->varlevelsup != cx->sublevels_up || (Index) var->varno != cx->from)
			return false;
		if (var->varattno <= 0 || var->varattno > cx->v->nmap)
			cx->bad = true;
		else if (cx->remap)
		{
			var->varno = cx->to;
			var->varattno = cx->v->map[var->varattno];
			var->varnosyn = var->varno;
			var->varattnosyn = var->varattno;
		}
		return false;
	}
	if (IsA(node, CurrentOfExpr))
	{
		cx->bad = true;
		return false;
	}
	if (IsA(node, Query))
	{
		bool		result;

		cx->sublevels_up++;
		result = query_tree_walker((Query *) node, sdr_remap_walker, (void *) cx, 0);
		cx->sublevels_up--;
		return result;
	}
	return expression_tree_walker(node, sdr_remap_walker, (void *) cx);
}

/* Does the query refer to view rti in a way the table cannot stand in for? */
static bool
sdr_refs_bad(Query *query, Index rti, SdrView *v)
{
	SdrRemap	cx = {rti, 0, v, 0, false, false};

	query_tree_walker(query, sdr_remap_walker, (void *) &cx, 0);
	return cx.bad;
}

/*
 * Put base table v->base in the place of view rti in the query, as
 * PostgreSQL's expansion of the (security_invoker) view would, without the
 * subquery: the table joins the range table (locked with lockmode), the
 * join tree's reference to the view and every column reference move to it,
 * and "deleted_at IS NULL" joins the WHERE condition.  The view's entry
 * stays, unreferenced, so that the executor still checks the caller's
 * privilege on the view (as the rewriter keeps it for updatable views).
 * The table is checked for the invoker: SELECT of every column the view
 * shows and of deleted_at, as PostgreSQL's expansion of the view checks.
 * Returns the table's range table index.
 */
static Index
sdr_substitute_table(ParseState *pstate, Query *query, Index rti, SdrView *v,
					 int lockmode)
{
	RangeTblEntry *view_rte = rt_fetch(rti, query->rtable);
	Relation	rel;
	ParseNamespaceItem *nsitem;
	Index		base_idx;
	SdrRemap	cx;
	NullTest   *live;
	RkPermInfo *base_perm;
	ListCell   *lc;

	rel = relation_open(v->base, lockmode);
	nsitem = addRangeTableEntryForRelation(pstate, rel, lockmode,
										   copyObject(view_rte->alias), v->inh, true);
	relation_close(rel, NoLock);
	base_idx = nsitem->p_rtindex;
	query->rtable = pstate->p_rtable;
	rk_query_take_perminfos(query, pstate);

	cx.from = rti;
	cx.to = base_idx;
	cx.v = v;
	cx.sublevels_up = 0;
	cx.remap = true;
	cx.bad = false;
	query_tree_walker(query, sdr_remap_walker, (void *) &cx, 0);
	foreach(lc, query->jointree->fromlist)
	{
		RangeTblRef *rtr = (RangeTblRef *) lfirst(lc);

		if (IsA(rtr, RangeTblRef) && rtr->rtindex == (int) rti)
			rtr->rtindex = base_idx;
	}

	live = makeNode(NullTest);
	live->arg = (Expr *) makeVar(base_idx, v->at.base_attno, v->at.type, v->at.typmod,
								 InvalidOid, 0);
	live->nulltesttype = IS_NULL;
	live->argisrow = false;
	live->location = -1;
	query->jointree->quals = query->jointree->quals == NULL ? (Node *) live
		: (Node *) makeBoolExpr(AND_EXPR, list_make2(query->jointree->quals, live), -1);

	/*
	 * SELECT of every column of the table the view shows, deleted_at
	 * included, whatever the statement reads: PostgreSQL checks exactly
	 * that when it expands the view (its query reads them all), which is
	 * what the trigger path and every statement this hook leaves alone
	 * pass through.  Checking only the columns read would let a role with
	 * column-level grants on the table do here what it cannot do there.
	 */
	base_perm = rk_query_perminfo(query, rt_fetch(base_idx, query->rtable));
	base_perm->requiredPerms = ACL_SELECT;
	base_perm->selectedCols =
		bms_add_member(sdr_base_columns(bms_make_singleton(InvalidAttrNumber -
														   FirstLowInvalidHeapAttributeNumber),
										v),
					   v->at.base_attno - FirstLowInvalidHeapAttributeNumber);
	base_perm->checkAsUser = InvalidOid;
	return base_idx;
}

/*
 * Turn the DELETE on the view into the marking UPDATE of its table (see
 * the file header).  The caller checked that it can be.
 */
static void
sdr_rewrite_delete(ParseState *pstate, Query *query, SdrView *v)
{
	List	   *tlist = sdr_marking_tlist(pstate, v);
	Index		base_idx;
	RkPermInfo *base_perm;
	Bitmapset  *updated = NULL;
	SdrReturningSubst subst;
	ListCell   *lc;

	if (tlist == NIL)
		return;
	base_idx = sdr_substitute_table(pstate, query, query->resultRelation, v,
									RowExclusiveLock);

	/* and UPDATE of the marked columns (what the trigger's UPDATE needs) */
	base_perm = rk_query_perminfo(query, rt_fetch(base_idx, query->rtable));
	foreach(lc, tlist)
		updated = bms_add_member(updated, ((TargetEntry *) lfirst(lc))->resno -
								 FirstLowInvalidHeapAttributeNumber);
	base_perm->requiredPerms |= ACL_UPDATE;
	base_perm->updatedCols = updated;

	subst.rti = base_idx;
	subst.v = v;
	query->returningList = (List *)
		sdr_returning_mutator((Node *) query->returningList, &subst);
	query->targetList = tlist;
	query->resultRelation = base_idx;
	query->commandType = CMD_UPDATE;
}

/*
 * A SELECT reading soft-delete views directly in its FROM list reads their
 * tables with "deleted_at IS NULL" instead: the plan PostgreSQL makes of the
 * view, without rewriting and pulling up the view's query on every parse.
 * Views elsewhere (joins, subqueries, WITH) are expanded as usual.
 */
static void
sdr_rewrite_select(ParseState *pstate, Query *query)
{
	ListCell   *lc;

	if (query->setOperations != NULL || query->rowMarks != NIL ||
		query->jointree == NULL || sdr_in_view_definition > 0)
		return;
	foreach(lc, query->jointree->fromlist)
	{
		RangeTblRef *rtr = (RangeTblRef *) lfirst(lc);
		RangeTblEntry *rte;
		SdrView    *v;

		if (!IsA(rtr, RangeTblRef))
			continue;
		rte = rt_fetch(rtr->rtindex, query->rtable);
		if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_VIEW ||
			rte->tablesample != NULL)
			continue;
		if (!sdr_lookup_funcs())
			return;
		v = sdr_get_view(rte->relid);
		if (!v->readable || sdr_refs_bad(query, rtr->rtindex, v))
			continue;
		sdr_substitute_table(pstate, query, rtr->rtindex, v, AccessShareLock);
	}
}

static void
sdr_post_parse_analyze(ParseState *pstate, Query *query RK_JSTATE_PARAM)
{
	RangeTblEntry *rte;
	SdrView    *v;

	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query RK_JSTATE_ARG);

	if (!sdr_enabled)
		return;
	if (query->commandType == CMD_SELECT)
	{
		sdr_rewrite_select(pstate, query);
		return;
	}
	if (query->commandType != CMD_DELETE || !query->canSetTag ||
		query->resultRelation <= 0)
		return;
	rte = rt_fetch(query->resultRelation, query->rtable);
	if (rte->rtekind != RTE_RELATION || rte->relkind != RELKIND_VIEW)
		return;
	if (!sdr_lookup_funcs())
		return;
	v = sdr_get_view(rte->relid);
	if (!v->usable || !sdr_trigger_fires(v->tgenabled))
		return;
	if (query->returningList != NIL &&
		(!v->returning_ok || sdr_has_sublink((Node *) query->returningList, NULL)))
		return;
	if (sdr_refs_bad(query, query->resultRelation, v))
		return;
	sdr_rewrite_delete(pstate, query, v);
}

/* ---------------------------------------------------------------------
 * Planning: relabel the plan as a DELETE
 * ---------------------------------------------------------------------
 */

/* Is parse (as the rewriter left it) one of our marking UPDATEs? */
static bool
sdr_is_marking(Query *parse)
{
	ListCell   *lc;

	if (parse->commandType != CMD_UPDATE || !parse->canSetTag ||
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

static PlannedStmt *
sdr_planner(Query *parse, const char *query_string, int cursorOptions,
			ParamListInfo boundParams)
{
	bool		marking = sdr_is_marking(parse);
	PlannedStmt *stmt;

	if (prev_planner)
		stmt = prev_planner(parse, query_string, cursorOptions, boundParams);
	else
		stmt = standard_planner(parse, query_string, cursorOptions, boundParams);
	if (marking)
		stmt->commandType = CMD_DELETE;
	return stmt;
}

/* ---------------------------------------------------------------------
 * Execution: one batch id and one user per statement
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
		st->batch_set = false;
		st->batch = 0;
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

static SdrStatement *
sdr_current(const char *fn)
{
	if (sdr_depth == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s can only be called by a soft DELETE", fn),
				 errdetail("It is part of the UPDATE that rowkeeper runs in place of a DELETE on a soft-delete view.")));
	return &sdr_stack[sdr_depth - 1];
}

/* rowkeeper._soft_delete_batch(): the statement's deletion batch id. */
Datum
soft_delete_batch(PG_FUNCTION_ARGS)
{
	SdrStatement *st = sdr_current("rowkeeper._soft_delete_batch()");

	if (!st->batch_set)
	{
		st->batch = rk_soft_delete_next_batch();
		st->batch_set = true;
	}
	PG_RETURN_INT64(st->batch);
}

/* rowkeeper._soft_delete_who(): who deletes (rowkeeper.actor, else the user). */
Datum
soft_delete_who(PG_FUNCTION_ARGS)
{
	SdrStatement *st = sdr_current("rowkeeper._soft_delete_who()");

	if (st->who == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

		st->who = rk_soft_delete_who();
		MemoryContextSwitchTo(old);
	}
	PG_RETURN_TEXT_P(st->who);
}

/* ---------------------------------------------------------------------
 * Utility statements: no rewriting inside a view's definition
 * ---------------------------------------------------------------------
 */
static void
sdr_process_utility(PlannedStmt *pstmt, const char *queryString,
					RK_READONLY_TREE_PARAM ProcessUtilityContext context, ParamListInfo params,
					QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	bool		defines_view = IsA(pstmt->utilityStmt, ViewStmt);

	if (defines_view)
		sdr_in_view_definition++;
	PG_TRY();
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, RK_READONLY_TREE_ARG
								 context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, RK_READONLY_TREE_ARG
									context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (defines_view)
			sdr_in_view_definition--;
	}
	PG_END_TRY();
}

/* ---------------------------------------------------------------------
 * Set-up (from _PG_init)
 * ---------------------------------------------------------------------
 */
void
rk_soft_delete_rewrite_init(void)
{
	DefineCustomBoolVariable("rowkeeper.soft_delete_rewrite",
							 "Runs a DELETE on a soft-delete view as the UPDATE that marks its rows.",
							 "Off: every soft DELETE goes through the view's INSTEAD OF trigger, "
							 "which gives the same result at the cost of one more statement per row. "
							 "Takes effect for statements parsed afterwards.",
							 &sdr_enabled,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = sdr_post_parse_analyze;
	prev_planner = planner_hook;
	planner_hook = sdr_planner;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = sdr_executor_start;
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = sdr_executor_end;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = sdr_process_utility;

	CacheRegisterRelcacheCallback(sdr_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(PROCOID, sdr_proc_callback, (Datum) 0);
	RegisterXactCallback(sdr_xact_callback, NULL);
	RegisterSubXactCallback(sdr_subxact_callback, NULL);
}
