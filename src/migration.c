/*-------------------------------------------------------------------------
 *
 * migration.c
 *	  The migration role story of tenant isolation: the table owner runs
 *	  its migrations without a tenant, and its DML without a tenant still
 *	  fails closed.
 *
 *	  enable_tenant_isolation() sets FORCE ROW LEVEL SECURITY, so the owner
 *	  is confined like everyone else and, with no tenant set, every query
 *	  of the owner on an isolated table raises "no tenant is set".  Two
 *	  things a migration does read rows through a query, though: adding or
 *	  validating a foreign key (PostgreSQL checks the existing rows with one
 *	  join query, RI_Initial_Check, as the current user and under RLS) and
 *	  pg_dump (COPY table TO with row_security = off, which raises when RLS
 *	  would filter).  Both are utility statements, and PostgreSQL already has
 *	  the exemption they need: the security-context flag
 *	  SECURITY_NOFORCE_RLS, under which a table's owner is not subject to
 *	  FORCE ROW LEVEL SECURITY (ri_triggers.c runs its row checks with it).
 *
 *	  A ProcessUtility hook sets that flag for the duration of exactly these
 *	  statements (an allow-list; everything else runs as before):
 *	  - ALTER TABLE whose subcommands are only ADD CONSTRAINT ... FOREIGN
 *		KEY / PRIMARY KEY / UNIQUE, VALIDATE CONSTRAINT of a foreign key, and
 *		ADD COLUMN without a default, generation expression, identity or
 *		CHECK (its REFERENCES clause is validated like ADD CONSTRAINT), with
 *		at least one foreign key among them.  No user expression is
 *		evaluated over the table's rows by such a statement.
 *	  - COPY table TO (a table, not a query) while row_security is off: what
 *		pg_dump runs for each table.  No user code runs in it.
 *	  - COPY of one of rowkeeper's own tables that has row-level security
 *		(purge_runs), row_security off, by a role subject to it: PostgreSQL
 *		would raise "query would be affected by row-level security policy";
 *		the hook turns row_security on for that one statement, so pg_dump
 *		copies the records that role may read (its own tables' purges).
 *		This one is not an exemption: RLS applies.
 *	  The flag only matters to a table's owner (check_enable_rls() tests
 *	  ownership first); other roles are confined exactly as before, and the
 *	  owner could switch FORCE off with ALTER TABLE anyway: this is about
 *	  the owner's migrations not failing, never about widening anyone's
 *	  access.
 *
 *	  Deliberately not on the list: SELECT/INSERT/UPDATE/DELETE/MERGE (not
 *	  utility statements at all), and every utility statement that runs a
 *	  query of the user's: CREATE TABLE AS / SELECT INTO, CREATE and REFRESH
 *	  MATERIALIZED VIEW, COPY (query) TO, COPY FROM (it fires triggers),
 *	  EXPLAIN [ANALYZE], CALL, DO, PREPARE/EXECUTE, DECLARE CURSOR, and ALTER
 *	  TABLE forms that evaluate expressions over existing rows (ADD CHECK,
 *	  DEFAULT on ADD COLUMN, ALTER COLUMN TYPE ... USING).  Each stays fail
 *	  closed (regress test tenant_migration).
 *
 *	  Plans made under the flag must not outlive it: the plan cache keys a
 *	  plan's RLS decision on the role and row_security, not on the security
 *	  context, so a plan cached while the owner was exempt (a function that
 *	  an event trigger called, say) could be reused later without the
 *	  policies.  So every cached plan is invalidated when an allowed
 *	  statement ends (ResetPlanCache(): each is re-planned on its next use,
 *	  with RLS decided afresh).  Migrations are rare; the cost is one
 *	  re-plan per cached statement.
 *
 *	  One more thing ORMs send: ALTER TABLE ... ALTER COLUMN c TYPE t where
 *	  t is c's type already (Sequelize's sync({ alter: true }) does it for
 *	  every column).  It changes nothing, but PostgreSQL refuses it for a
 *	  column that a policy or a trigger's WHEN uses, as rowkeeper's tenant
 *	  and soft-delete columns are ("cannot alter type of a column used in a
 *	  policy definition").  On a table with rowkeeper triggers or policies
 *	  the hook drops such subcommands (same type, typmod and collation, no
 *	  USING) from the statement; a real type change runs (and is refused)
 *	  as before, and other tables are left alone.
 *
 *	  The hook sees only statements run after the library was loaded: a
 *	  migration session must have rowkeeper preloaded (shared_ or
 *	  session_preload_libraries), which preflight checks.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_trigger.h"
#include "parser/parse_type.h"
#include "utils/fmgroids.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "names.h"
#include "rowkeeper.h"

static ProcessUtility_hook_type prev_process_utility = NULL;

/* Is the named constraint of the table (if it exists) a foreign key? */
static bool
constraint_is_foreign_key(RangeVar *relation, const char *conname)
{
	Oid			relid = RangeVarGetRelid(relation, NoLock, true);
	Oid			conoid;
	HeapTuple	tup;
	bool		result = false;

	if (!OidIsValid(relid) || conname == NULL)
		return false;
	conoid = get_relation_constraint_oid(relid, conname, true);
	if (!OidIsValid(conoid))
		return false;
	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	if (HeapTupleIsValid(tup))
	{
		result = ((Form_pg_constraint) GETSTRUCT(tup))->contype == CONSTRAINT_FOREIGN;
		ReleaseSysCache(tup);
	}
	return result;
}

/*
 * ADD COLUMN that evaluates nothing over the table's rows: no default, no
 * generation expression, no identity, no CHECK.  *fk is set when it has a
 * REFERENCES clause.
 */
static bool
add_column_is_plain(ColumnDef *col, bool *fk)
{
	ListCell   *lc;

	if (col->raw_default != NULL || col->cooked_default != NULL ||
		col->identity != 0 || col->generated != 0)
		return false;
	foreach(lc, col->constraints)
	{
		Constraint *con = lfirst_node(Constraint, lc);

		switch (con->contype)
		{
			case CONSTR_FOREIGN:
				*fk = true;
				break;
			case CONSTR_NULL:
			case CONSTR_NOTNULL:
			case CONSTR_PRIMARY:
			case CONSTR_UNIQUE:
			case CONSTR_ATTR_DEFERRABLE:
			case CONSTR_ATTR_NOT_DEFERRABLE:
			case CONSTR_ATTR_DEFERRED:
			case CONSTR_ATTR_IMMEDIATE:
				break;
			default:
				return false;
		}
	}
	return true;
}

/*
 * ALTER TABLE made only of foreign-key work and subcommands that evaluate
 * no user expression over existing rows, with at least one foreign key.
 */
static bool
alter_table_is_fk_migration(AlterTableStmt *stmt)
{
	ListCell   *lc;
	bool		fk = false;

	if (rk_alter_table_objtype(stmt) != OBJECT_TABLE)
		return false;
	if (stmt->relation == NULL)
		return false;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		switch (cmd->subtype)
		{
			case AT_AddConstraint:
				{
					Constraint *con = (Constraint *) cmd->def;

					if (con == NULL || !IsA(con, Constraint))
						return false;
					if (con->contype == CONSTR_FOREIGN)
						fk = true;
					else if (con->contype != CONSTR_PRIMARY &&
							 con->contype != CONSTR_UNIQUE)
						return false;
					break;
				}
			case AT_ValidateConstraint:
				if (!constraint_is_foreign_key(stmt->relation, cmd->name))
					return false;
				fk = true;
				break;
			case AT_AddColumn:
				if (cmd->def == NULL || !IsA(cmd->def, ColumnDef) ||
					!add_column_is_plain((ColumnDef *) cmd->def, &fk))
					return false;
				break;
			default:
				return false;
		}
	}
	return fk;
}

/* Does the table carry rowkeeper triggers or policies (rowkeeper_*)? */
static bool
relation_has_rowkeeper_objects(Oid relid)
{
	Relation	catalog;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	bool		found = false;

	catalog = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, TriggerRelidNameIndexId, true, NULL, 1, &key);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
		found = strncmp(NameStr(((Form_pg_trigger) GETSTRUCT(tup))->tgname),
						RK_OBJECT_PREFIX, strlen(RK_OBJECT_PREFIX)) == 0;
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	if (found)
		return true;

	catalog = table_open(PolicyRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_policy_polrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, PolicyPolrelidPolnameIndexId, true, NULL, 1, &key);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
		found = strncmp(NameStr(((Form_pg_policy) GETSTRUCT(tup))->polname),
						RK_OBJECT_PREFIX, strlen(RK_OBJECT_PREFIX)) == 0;
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	return found;
}

/* ALTER COLUMN ... TYPE to the column's own type, typmod and collation, no USING */
static bool
alter_type_is_noop(Oid relid, AlterTableCmd *cmd)
{
	ColumnDef  *def = (ColumnDef *) cmd->def;
	HeapTuple	tup;
	Form_pg_attribute att;
	Oid			typid;
	int32		typmod;
	Oid			collid;
	bool		same;

	if (cmd->subtype != AT_AlterColumnType || cmd->name == NULL ||
		def == NULL || !IsA(def, ColumnDef) || def->typeName == NULL ||
		def->raw_default != NULL || def->cooked_default != NULL)
		return false;
	tup = SearchSysCacheAttName(relid, cmd->name);
	if (!HeapTupleIsValid(tup))
		return false;
	att = (Form_pg_attribute) GETSTRUCT(tup);
	typenameTypeIdAndMod(NULL, def->typeName, &typid, &typmod);
	collid = def->collClause ? LookupCollation(NULL, def->collClause->collname, -1)
		: get_typcollation(typid);
	same = typid == att->atttypid && typmod == att->atttypmod && collid == att->attcollation;
	ReleaseSysCache(tup);
	return same;
}

/*
 * The statement without its no-op ALTER COLUMN ... TYPE subcommands, when
 * it is an ALTER TABLE of a rowkeeper table that has some; else NULL.
 */
static PlannedStmt *
without_noop_type_changes(PlannedStmt *pstmt)
{
	AlterTableStmt *stmt = (AlterTableStmt *) pstmt->utilityStmt;
	PlannedStmt *copy;
	List	   *keep = NIL;
	ListCell   *lc;
	Oid			relid;
	bool		any = false;

	if (!IsA(stmt, AlterTableStmt) || rk_alter_table_objtype(stmt) != OBJECT_TABLE ||
		stmt->relation == NULL)
		return NULL;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (cmd->subtype == AT_AlterColumnType)
			any = true;
	}
	if (!any)
		return NULL;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	if (!OidIsValid(relid) || !relation_has_rowkeeper_objects(relid))
		return NULL;

	copy = copyObject(pstmt);
	stmt = (AlterTableStmt *) copy->utilityStmt;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

		if (!alter_type_is_noop(relid, cmd))
			keep = lappend(keep, cmd);
	}
	if (list_length(keep) == list_length(stmt->cmds))
		return NULL;
	stmt->cmds = keep;
	return copy;
}

/* What the hook does for one utility statement. */
typedef enum RkMigrationAction
{
	RK_MIGRATION_NONE,			/* run it as it is */
	RK_MIGRATION_NOFORCE,		/* the owner is exempt from FORCE RLS */
	RK_MIGRATION_DUMP_FILTERED	/* COPY of a rowkeeper table under RLS */
} RkMigrationAction;

/*
 * pg_dump's COPY of one of rowkeeper's own tables that has row-level
 * security (purge_runs) by a role subject to it: with row_security off
 * PostgreSQL would raise; the role gets the rows it may read instead.
 */
static bool
copy_is_rowkeeper_table_under_rls(CopyStmt *copy)
{
	Oid			relid = RangeVarGetRelid(copy->relation, NoLock, true);
	Oid			nsp = rk_schema_oid(true);

	return OidIsValid(relid) && OidIsValid(nsp) &&
		get_rel_namespace(relid) == nsp &&
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED;
}

/* Is this utility statement one the hook lets through differently? */
static pg_noinline RkMigrationAction
rk_migration_statement_action(Node *stmt)
{
	if (IsA(stmt, AlterTableStmt))
		return alter_table_is_fk_migration((AlterTableStmt *) stmt) ?
			RK_MIGRATION_NOFORCE : RK_MIGRATION_NONE;
	if (IsA(stmt, CopyStmt))
	{
		CopyStmt   *copy = (CopyStmt *) stmt;

		/* pg_dump's COPY table TO, with row_security off */
		if (copy->is_from || copy->relation == NULL || copy->query != NULL ||
			copy->whereClause != NULL || row_security)
			return RK_MIGRATION_NONE;
		if (copy_is_rowkeeper_table_under_rls(copy))
			return RK_MIGRATION_DUMP_FILTERED;
		return RK_MIGRATION_NOFORCE;
	}
	return RK_MIGRATION_NONE;
}

static void
rk_migration_run(PlannedStmt *pstmt, const char *queryString,
							 RK_READONLY_TREE_PARAM ProcessUtilityContext context, ParamListInfo params,
							 QueryEnvironment *queryEnv, DestReceiver *dest,
							 QueryCompletion *qc)
{
	RkMigrationAction action = rk_migration_statement_action(pstmt->utilityStmt);
	bool		allowed = (action == RK_MIGRATION_NOFORCE);
	Oid			save_userid = InvalidOid;
	int			save_sec_context = 0;
	int			save_nestlevel = 0;

	if (allowed)
	{
		GetUserIdAndSecContext(&save_userid, &save_sec_context);
		SetUserIdAndSecContext(save_userid,
							   save_sec_context | SECURITY_NOFORCE_RLS);
	}
	else if (action == RK_MIGRATION_DUMP_FILTERED)
	{
		/* undone below, or by the (sub)transaction's abort */
		save_nestlevel = NewGUCNestLevel();
		(void) set_config_option("row_security", "on", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0,
								 false);
	}
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
		if (allowed)
		{
			SetUserIdAndSecContext(save_userid, save_sec_context);
			/* no plan made while the owner was exempt survives it */
			ResetPlanCache();
		}
	}
	PG_END_TRY();
	if (action == RK_MIGRATION_DUMP_FILTERED)
		AtEOXact_GUC(true, save_nestlevel);
}

static void
rk_migration_process_utility(PlannedStmt *pstmt, const char *queryString,
							 RK_READONLY_TREE_PARAM ProcessUtilityContext context, ParamListInfo params,
							 QueryEnvironment *queryEnv, DestReceiver *dest,
							 QueryCompletion *qc)
{
	PlannedStmt *trimmed = without_noop_type_changes(pstmt);

	if (trimmed != NULL)
	{
		/* nothing left to do: as if the statement had run */
		if (((AlterTableStmt *) trimmed->utilityStmt)->cmds == NIL)
			return;
		pstmt = trimmed;
	}
	rk_migration_run(pstmt, queryString, RK_READONLY_TREE_ARG context, params, queryEnv, dest, qc);
}

/* Install the hook (from _PG_init). */
void
rk_migration_init(void)
{
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = rk_migration_process_utility;
}
