/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The audit trigger: rowkeeper.audit_trigger(), an AFTER ROW trigger
 *	  (INSERT, UPDATE, DELETE) and AFTER STATEMENT trigger (TRUNCATE) that
 *	  writes one row per change into rowkeeper.audit_log, in the same
 *	  transaction as the change.
 *
 *	  What one log row holds: transaction start time and full transaction
 *	  id; the audited table (the partitioned root for a partition) by its
 *	  identity table_id (see rowkeeper.audit_incarnations: stable across
 *	  renames and dump/restore, never shared with another table that takes
 *	  its name), by OID and by schema and name as they were; the operation;
 *	  the row key (primary key, else replica identity index) as jsonb and
 *	  row_ref (table id and key, the key of the history index), and the old
 *	  key when an UPDATE
 *	  changed it; the images: INSERT the new row, DELETE the old row, UPDATE
 *	  only the changed columns, old values in old_row and new values in
 *	  new_row (op SOFT_DELETE / RESTORE when the UPDATE sets / clears the
 *	  deleted_at column of a soft-delete table); who: rowkeeper.actor,
 *	  current_user, the role that issued the statement (not hidden by
 *	  SECURITY DEFINER), session_user, client address, application_name,
 *	  rowkeeper.request_id, rowkeeper.tenant, and the end user's request:
 *	  rowkeeper.client_addr (as request_addr), rowkeeper.user_agent,
 *	  rowkeeper.metadata.
 *
 *	  Options are trigger arguments written by rowkeeper.enable_audit():
 *	  exclude=<column> (never logged, not even as changed), redact=<column>
 *	  (logged as RK_REDACTED), skip_noop=true|false (an UPDATE that changes
 *	  no logged column, or only the updated_at / "updatedAt" column an ORM
 *	  stamps on every save, writes nothing; see stamp_column()),
 *	  require_actor=true|false.
 *
 *	  On a Citus cluster the trigger fires on the shards (on the workers):
 *	  a shard logs under its Citus table (name, OID on that node, and the
 *	  identity the coordinator gave it, never one of its own), with the
 *	  coordinator's transaction start as logged_at (src/citus.c); only one
 *	  placement of a shard logs (a reference table's copy on the node with
 *	  the lowest group id), and TRUNCATE is logged by the Citus table's own
 *	  trigger on the coordinator, not by the shards.  See
 *	  src/sql/36_citus_audit.sql for where the log lives and how it is
 *	  read.
 *
 *	  The log row is written by audit_log.c as the owner of
 *	  rowkeeper.audit_log (as the RI triggers switch user), so application
 *	  roles need no privilege on the log.
 *
 *	  rowkeeper._audit_log_drift() writes the log's other kind of entry,
 *	  AUDIT_DRIFT / AUDIT_REPAIR: the audit triggers of a table changed away
 *	  from what enable_audit makes (found by rowkeeper._audit_drift(), never
 *	  taken from the caller), with the same who-columns.  And
 *	  rowkeeper.log_event() writes the application's own entries, op EVENT
 *	  (a login, an export), through the same writer: same who/when/context,
 *	  same hash chain; the op is fixed here, so no caller claims a row change.
 *
 *	  Everything that depends only on the table and the trigger (column
 *	  conversions, options, key columns, names, the table id from
 *	  rowkeeper._audit_bind(), the log's owner) is resolved once and kept
 *	  for the life of the backend in a cache keyed by trigger OID.  Invalidation: a relcache callback voids the entries of a changed
 *	  table, of its partition root (renamed) and of the log (new owner); a
 *	  syscache callback voids every entry when a schema or a role changes
 *	  (ALTER SCHEMA/ROLE ... RENAME change no relcache entry).  A void entry
 *	  is rebuilt at its next use; the memory of the one it replaces is freed
 *	  at the end of the transaction, since a trigger call further up the
 *	  stack may still be using it.
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/transam.h"
#include "access/xact.h"
#include "common/hashfn.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/varlena.h"
#include "utils/xid8.h"

#include "audit_log.h"
#include "compat.h"
#include "rowjson.h"
#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(audit_trigger);
PG_FUNCTION_INFO_V1(audit_row_ref_0_3);

/* Per-trigger resolved configuration (lives in its own memory context). */
typedef struct AuditConfig
{
	MemoryContext cxt;			/* holds this struct and all it points to */
	Oid			relid;			/* relation it was resolved for */
	Oid			tgoid;			/* trigger it was resolved for */
	Oid			log_relid;		/* rowkeeper.audit_log */
	int			natts;
	bool	   *logged;			/* per attribute: appears in images */
	bool	   *redacted;		/* per attribute: value replaced */
	bool	   *is_key;			/* per attribute: part of the row key */
	RkJsonColumn *cols;			/* per attribute: jsonb conversion */
	char	  **keys;			/* per attribute: its name, the image key */
	int		   *keylens;
	int		   *order;			/* live attributes in jsonb key order */
	int			norder;
	bool		skip_noop;
	bool		require_actor;
	int			soft_delete_att;	/* 0-based deleted_at column, or -1 */
	int			stamp_att;		/* 0-based ORM-stamped updated_at, or -1 */
	Oid			table_oid;		/* root of a partition tree, else relid;
								 * for a Citus shard, its Citus table */
	bool		citus_shard;	/* relid is (a partition of) a Citus shard */
	bool		citus_logs_here;	/* ... and this placement logs its rows */
	text	   *schema_name;
	text	   *table_name;
	int64		table_id;		/* identity (rowkeeper.audit_incarnations) */
	uint32		table_bits;		/* its hash, the high half of row_ref */
	Oid			log_owner;		/* owner of rowkeeper.audit_log */
	Oid			cached_userid;	/* last current_user / outer user seen */
	text	   *cached_username;
	Oid			cached_outerid;
	text	   *cached_outername;
} AuditConfig;

/* The cache of resolved configurations, by trigger OID (see the header). */
typedef struct AuditCacheEntry
{
	Oid			tgoid;			/* hash key */
	bool		valid;
	AuditConfig *cfg;			/* NULL before the first resolution */
} AuditCacheEntry;

static HTAB *audit_cache = NULL;
static MemoryContext audit_cache_cxt = NULL;
static List *audit_graveyard = NIL;	/* replaced configs, freed at xact end */
static List *audit_fresh = NIL;	/* triggers resolved in this transaction */
static uint64 audit_cache_invals = 0;	/* callbacks seen, ever */

/* Backend-lifetime state: session facts. */
static bool session_facts_ready = false;
static Oid	session_user_cached = InvalidOid;
static text *session_user_name = NULL;
static Datum client_addr = (Datum) 0;
static bool client_addr_null = true;
static bool client_addr_ready = false;

/* Attribute index (0-based) of a column named in an option, or complain. */
static int
option_column(Relation rel, Trigger *trigger, const char *arg,
			  const char *colname)
{
	int			attnum = SPI_fnumber(RelationGetDescr(rel), colname);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, RelationGetRelationName(rel)),
				 errdetail("The audit trigger \"%s\" names it in \"%s\".",
						   trigger->tgname, arg),
				 errhint("After renaming or dropping the column, call rowkeeper.enable_audit() again with the new column lists.")));
	return attnum - 1;
}

/* Apply the trigger's key=value arguments to cfg. */
static void
parse_audit_options(AuditConfig *cfg, Trigger *trigger, Relation rel)
{
	RkTriggerArgs ta = {trigger, rel,
		"rowkeeper.audit_trigger() takes options exclude=<column>, redact=<column>, skip_noop=true|false and require_actor=true|false.",
	"rowkeeper.enable_audit()"};
	int			i;

	for (i = 0; i < trigger->tgnargs; i++)
	{
		const char *arg = trigger->tgargs[i];
		const char *value;

		if ((value = rk_option_value(arg, "exclude")) != NULL)
			cfg->logged[option_column(rel, trigger, arg, value)] = false;
		else if ((value = rk_option_value(arg, "redact")) != NULL)
			cfg->redacted[option_column(rel, trigger, arg, value)] = true;
		else if ((value = rk_option_value(arg, "skip_noop")) != NULL)
			cfg->skip_noop = rk_option_bool(&ta, arg, value);
		else if ((value = rk_option_value(arg, "require_actor")) != NULL)
			cfg->require_actor = rk_option_bool(&ta, arg, value);
		else
			rk_bad_trigger_argument(&ta, arg);
	}
}

/*
 * Mark the row key columns: the primary key, else the replica identity
 * index.  A table with neither cannot be audited by key.
 */
static void
resolve_key(AuditConfig *cfg, Relation rel)
{
	Bitmapset  *keys;
	int			x = -1;

	keys = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY);
	if (bms_is_empty(keys))
		keys = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_IDENTITY_KEY);
	if (bms_is_empty(keys))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("table \"%s\" has no primary key or replica identity index",
						RelationGetRelationName(rel)),
				 errdetail("The audit trail identifies rows by key."),
				 errhint("Add a primary key, or ALTER TABLE ... REPLICA IDENTITY USING INDEX with a unique index.")));

	while ((x = bms_next_member(keys, x)) >= 0)
	{
		AttrNumber	attnum = x + FirstLowInvalidHeapAttributeNumber;

		if (attnum > 0)
			cfg->is_key[attnum - 1] = true;
	}
}

/*
 * The relation whose name the log uses: the root of a partition tree, so
 * that rows of every partition are found under the table users audit.
 */
static Oid
audit_root(Relation rel)
{
	if (rel->rd_rel->relispartition)
	{
		List	   *ancestors = get_partition_ancestors(RelationGetRelid(rel));

		if (ancestors != NIL)
			return llast_oid(ancestors);
	}
	return RelationGetRelid(rel);
}

/* Owner of rowkeeper.audit_log, whose rights the insert runs with. */
static Oid
audit_log_owner(Oid *log_relid)
{
	Oid			logrel = rk_own_relid(RK_AUDIT_LOG, false);
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(logrel));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", logrel);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	*log_relid = logrel;
	return owner;
}

/*
 * The identity of a table (its partition root), from
 * rowkeeper._audit_bind(): the id it holds, takes back after a restore, or
 * gets now.  Called once per resolution of a trigger's configuration, not
 * per row.  The function is SECURITY DEFINER; it runs here as whoever
 * writes, inside a security-restricted operation so that nothing it could
 * reach runs with more than that.  0 while the installed SQL objects are
 * older than the library (between a package upgrade and ALTER EXTENSION
 * UPDATE: that log has no table_id column either).
 */
static int64
rk_audit_table_id(Oid relid, bool create)
{
	Oid			argtypes[2] = {REGCLASSOID, BOOLOID};
	Datum		args[2];
	bool		isnull;
	Datum		d;
	int64		id;
	int			rc;
	Oid			save_userid;
	int			save_sec;

	if (!OidIsValid(LookupFuncName(rk_own_name("_audit_bind"), 2, argtypes, true)))
		return 0;
	args[0] = ObjectIdGetDatum(relid);
	args[1] = BoolGetDatum(create);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(save_userid, save_sec | SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT rowkeeper._audit_bind($1, $2)", 2, argtypes,
							   args, NULL, false, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "rowkeeper._audit_bind() failed: %s", SPI_result_code_string(rc));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	id = isnull ? 0 : DatumGetInt64(d);
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec);
	if (id <= 0 && create)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation \"%s\" cannot be audited", get_rel_name(relid)),
				 errdetail("rowkeeper audits permanent tables and partitioned tables."),
				 errhint("Drop the audit trigger: SELECT rowkeeper.disable_audit(...);")));
	return id;
}

/*
 * row_ref: the key of the log's history index.  The high 32 bits hash the
 * table id, the low 32 bits stand for the row key (rk_audit_key_bits).
 * Lookups recheck table_id and row_key, so two rows sharing a row_ref cost
 * a row read, never a wrong answer.
 */
static uint32
table_bits(int64 table_id)
{
	return (uint32) DatumGetUInt64(hash_uint32_extended((uint32) table_id,
														(uint64) (table_id >> 32)));
}

/* The int8 range as numerics, for rk_audit_key_bits (made once). */
static Datum key_min = (Datum) 0;
static Datum key_max = (Datum) 0;

/*
 * The single value of a one-column row key, as an int8, if it is an integer
 * number in int8's range (1 and 1.0 alike; a fraction rounds, which only
 * makes two keys share a row_ref).
 */
static bool
key_as_int8(Jsonb *row_key, int64 *result)
{
	JsonbIterator *it;
	JsonbValue	v;
	bool		ok;

	if (!JB_ROOT_IS_OBJECT(row_key) || JB_ROOT_COUNT(row_key) != 1)
		return false;
	it = JsonbIteratorInit(&row_key->root);
	ok = JsonbIteratorNext(&it, &v, false) == WJB_BEGIN_OBJECT &&
		JsonbIteratorNext(&it, &v, false) == WJB_KEY &&
		JsonbIteratorNext(&it, &v, false) == WJB_VALUE &&
		v.type == jbvNumeric &&
		!numeric_is_nan(v.val.numeric) && !numeric_is_inf(v.val.numeric);
	if (ok)
	{
		Datum		n = NumericGetDatum(v.val.numeric);

		if (key_min == (Datum) 0)
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			key_min = DirectFunctionCall1(int8_numeric, Int64GetDatum(PG_INT64_MIN));
			key_max = DirectFunctionCall1(int8_numeric, Int64GetDatum(PG_INT64_MAX));
			MemoryContextSwitchTo(old);
		}
		ok = DatumGetInt32(DirectFunctionCall2(numeric_cmp, n, key_min)) >= 0 &&
			DatumGetInt32(DirectFunctionCall2(numeric_cmp, n, key_max)) <= 0;
		if (ok)
			*result = DatumGetInt64(DirectFunctionCall1(numeric_int8, n));
	}
	while (it != NULL && JsonbIteratorNext(&it, &v, false) != WJB_DONE)
		;						/* frees the iterator */
	return ok;
}

/*
 * The low 32 bits of row_ref.  A key of one integer column (serial and
 * identity keys, the usual case) keeps its order (modulo 2^32), so the
 * entries of rows with neighbouring ids are neighbours in the history
 * index: new rows append at their table's edge of the index, and a bulk
 * UPDATE of an id range touches a few leaf pages, and so writes a few
 * full-page images after a checkpoint, instead of one per row (a 10,000-row
 * UPDATE wrote 27 MB of them with hashed keys).  Any other key hashes with
 * jsonb's own extended hash, so keys equal as jsonb hash alike.
 */
uint32
rk_audit_key_bits(Jsonb *row_key)
{
	int64		k;

	if (key_as_int8(row_key, &k))
		return (uint32) k;
	return (uint32) DatumGetUInt64(DirectFunctionCall2(jsonb_hash_extended,
													   JsonbPGetDatum(row_key),
													   UInt64GetDatum(0)));
}

static int64
row_ref(uint32 tbits, Jsonb *row_key)
{
	return (int64) (((uint64) tbits << 32) | rk_audit_key_bits(row_key));
}

/*
 * rowkeeper.row_ref(table_id bigint, row_key jsonb): the same number for
 * queries, so they can use the history index.  The C name carries the
 * version: 0.2.0's row_ref(schema_name, table_name, row_key) was bound to
 * audit_row_ref, which compat_symbols.c keeps for it.
 */
Datum
audit_row_ref_0_3(PG_FUNCTION_ARGS)
{
	int64		table_id = PG_GETARG_INT64(0);
	Jsonb	   *row_key = PG_GETARG_JSONB_P(1);

	PG_RETURN_INT64(row_ref(table_bits(table_id), row_key));
}

/*
 * The deleted_at column of a soft-delete table (0-based), or -1: the
 * first argument of its guard trigger, rowkeeper_soft_delete (cloned onto
 * partitions under the same name).  An UPDATE that sets it from NULL is
 * logged as SOFT_DELETE, one that clears it as RESTORE.
 */
static int
soft_delete_column(Relation rel)
{
	TriggerDesc *td = rel->trigdesc;
	int			i;

	if (td == NULL)
		return -1;
	for (i = 0; i < td->numtriggers; i++)
	{
		Trigger    *t = &td->triggers[i];
		int			attnum;

		if (!rk_trigger_is(t->tgname, RK_TRIGGER_SOFT_DELETE) || t->tgnargs < 1)
			continue;
		attnum = SPI_fnumber(RelationGetDescr(rel), t->tgargs[0]);
		return attnum > 0 ? attnum - 1 : -1;
	}
	return -1;
}

/*
 * The column ORMs stamp on every save (updated_at or "updatedAt", of a
 * timestamp type; 0-based), whose change alone does not make an UPDATE
 * worth logging under skip_noop, or -1.  Also -1 when an enabled rowkeeper
 * updated_at trigger (rowkeeper_updated_at_<column>, cloned onto
 * partitions under the same name) is on the table: that trigger decides,
 * before us (with skip_stamp_only it has already put the old stamp back;
 * with skip_stamp_only=false a stamp-only UPDATE is meant and logged).
 */
static int
stamp_column(Relation rel)
{
	TriggerDesc *td = rel->trigdesc;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			i;

	if (td != NULL)
		for (i = 0; i < td->numtriggers; i++)
			if (strncmp(td->triggers[i].tgname, RK_TRIGGER_UPDATED_AT_PREFIX,
						strlen(RK_TRIGGER_UPDATED_AT_PREFIX)) == 0 &&
				td->triggers[i].tgenabled != TRIGGER_DISABLED)
				return -1;
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped &&
			(att->atttypid == TIMESTAMPTZOID || att->atttypid == TIMESTAMPOID) &&
			(strcmp(NameStr(att->attname), "updated_at") == 0 ||
			 strcmp(NameStr(att->attname), "updatedAt") == 0))
			return i;
	}
	return -1;
}

/* cfg for qsort_arg: attributes in jsonb's order of their names. */
static int
key_order_cmp(const void *a, const void *b, void *arg)
{
	AuditConfig *cfg = (AuditConfig *) arg;
	int			x = *(const int *) a;
	int			y = *(const int *) b;

	return rk_json_key_cmp(cfg->keys[x], cfg->keylens[x],
						   cfg->keys[y], cfg->keylens[y]);
}

/*
 * A shard of a Citus table whose audit identity this node does not know:
 * enable_audit() ran on the coordinator before the table was distributed
 * (Citus is copying its rows into the shards, which would log them as new
 * rows), or before this node was added; or this backend cannot see the
 * table's Citus metadata yet.
 */
rk_noreturn
static void
unknown_citus_identity(Oid nsp, const char *name)
{
	char	   *qname = quote_qualified_identifier(get_namespace_name(nsp), name);

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("the audit identity of Citus table %s is not known on this node", qname),
			 errdetail("rowkeeper.enable_audit() on the coordinator gives a Citus table its identity on every node; it ran before the table was distributed, or before this node was added."),
			 errhint("On the coordinator, after create_distributed_table() or create_reference_table(): SELECT rowkeeper.enable_audit('%s'); a table that has rows is distributed without its audit triggers (disable_audit() first), or Citus's copy of its rows is logged as new rows.",
					 qname)));
}

/*
 * Resolve everything that depends only on the table and the trigger, into
 * cfg's own memory context.
 */
static void
resolve_audit_config(AuditConfig *cfg, TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	MemoryContext old = MemoryContextSwitchTo(cfg->cxt);
	int			i;

	cfg->relid = RelationGetRelid(rel);
	cfg->tgoid = trigdata->tg_trigger->tgoid;
	cfg->natts = tupdesc->natts;
	cfg->logged = palloc(sizeof(bool) * cfg->natts);
	cfg->redacted = palloc0(sizeof(bool) * cfg->natts);
	cfg->is_key = palloc0(sizeof(bool) * cfg->natts);
	cfg->cols = palloc0(sizeof(RkJsonColumn) * cfg->natts);
	cfg->keys = palloc0(sizeof(char *) * cfg->natts);
	cfg->keylens = palloc0(sizeof(int) * cfg->natts);
	cfg->order = palloc(sizeof(int) * cfg->natts);
	cfg->norder = 0;
	cfg->skip_noop = true;
	cfg->require_actor = false;

	for (i = 0; i < cfg->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		cfg->logged[i] = !att->attisdropped;
		if (att->attisdropped)
			continue;
		rk_json_column_init(&cfg->cols[i], att->atttypid, cfg->cxt);
		cfg->keys[i] = pstrdup(NameStr(att->attname));
		cfg->keylens[i] = strlen(cfg->keys[i]);
		cfg->order[cfg->norder++] = i;
	}
	qsort_arg(cfg->order, cfg->norder, sizeof(int), key_order_cmp, cfg);
	parse_audit_options(cfg, trigdata->tg_trigger, rel);
	cfg->soft_delete_att = soft_delete_column(rel);
	cfg->stamp_att = stamp_column(rel);
	if (!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		resolve_key(cfg, rel);

	cfg->table_oid = audit_root(rel);

	/*
	 * A shard of a Citus table logs under the Citus table: its name, and
	 * the identity the coordinator gave it (enable_audit on the
	 * coordinator binds it on every node), never one of its own.
	 */
	{
		Oid			logical;

		cfg->citus_shard = rk_citus_shard_of(cfg->table_oid, &logical,
											 &cfg->citus_logs_here);
		if (cfg->citus_shard)
			cfg->table_oid = logical;
		else if (rk_citus_named_shard(get_rel_name(cfg->table_oid),
									  trigdata->tg_trigger->tgname))
		{
			/*
			 * named by its table's name: the shard's less its _<shard id>
			 * (the root's: a partition's shard fires the trigger inherited
			 * from the root's shard, named after that)
			 */
			const char *shard = get_rel_name(cfg->table_oid);

			unknown_citus_identity(get_rel_namespace(cfg->table_oid),
								   pnstrdup(shard, strrchr(shard, '_') - shard));
		}
	}
	cfg->schema_name = cstring_to_text(get_namespace_name(get_rel_namespace(cfg->table_oid)));
	cfg->table_name = cstring_to_text(get_rel_name(cfg->table_oid));
	cfg->table_id = rk_audit_table_id(cfg->table_oid, !cfg->citus_shard);
	if (cfg->citus_shard && cfg->table_id <= 0)
		unknown_citus_identity(get_rel_namespace(cfg->table_oid),
							   get_rel_name(cfg->table_oid));
	cfg->table_bits = table_bits(cfg->table_id);
	cfg->log_owner = audit_log_owner(&cfg->log_relid);
	cfg->cached_userid = InvalidOid;
	cfg->cached_outerid = InvalidOid;
	MemoryContextSwitchTo(old);
}

/*
 * Relcache callback: void the entries of relid (every entry for
 * InvalidOid).  Only marks them: this can run in the middle of a trigger
 * call that uses one.
 */
static void
audit_cache_relcache_cb(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	AuditCacheEntry *e;

	audit_cache_invals++;
	hash_seq_init(&status, audit_cache);
	while ((e = (AuditCacheEntry *) hash_seq_search(&status)) != NULL)
		if (e->cfg != NULL &&
			(relid == InvalidOid || relid == e->cfg->relid ||
			 relid == e->cfg->table_oid || relid == e->cfg->log_relid))
			e->valid = false;
}

/* Syscache callback (schemas, roles): void every entry and session fact. */
static void
audit_cache_syscache_cb(Datum arg, int cacheid, uint32 hashvalue)
{
	audit_cache_relcache_cb(arg, InvalidOid);
	session_facts_ready = false;
}

/*
 * Void the entries resolved in the transaction being rolled back: the
 * table id they hold may have been made by rowkeeper._audit_bind() in it,
 * and is gone with it.
 */
static void
audit_cache_void_fresh(void)
{
	ListCell   *lc;

	foreach(lc, audit_fresh)
	{
		Oid			tgoid = lfirst_oid(lc);
		AuditCacheEntry *e = hash_search(audit_cache, &tgoid, HASH_FIND, NULL);

		if (e != NULL)
			e->valid = false;
	}
}

/*
 * End of the top-level transaction: free the replaced configurations; on
 * abort, void those resolved in it.
 */
static void
audit_cache_xact_cb(XactEvent event, void *arg)
{
	ListCell   *lc;

	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PARALLEL_COMMIT &&
		event != XACT_EVENT_PARALLEL_ABORT && event != XACT_EVENT_PREPARE)
		return;
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		audit_cache_void_fresh();
	list_free(audit_fresh);
	audit_fresh = NIL;
	foreach(lc, audit_graveyard)
		MemoryContextDelete((MemoryContext) lfirst(lc));
	list_free(audit_graveyard);
	audit_graveyard = NIL;
}

/* A rolled-back savepoint takes what _audit_bind() wrote in it along. */
static void
audit_cache_subxact_cb(SubXactEvent event, SubTransactionId mySubid,
					   SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		audit_cache_void_fresh();
}

static void
audit_cache_init(void)
{
	HASHCTL		ctl;

	audit_cache_cxt = AllocSetContextCreate(CacheMemoryContext,
											"rowkeeper audit cache",
											ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(AuditCacheEntry);
	ctl.hcxt = audit_cache_cxt;
	audit_cache = hash_create("rowkeeper audit triggers", 32, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CacheRegisterRelcacheCallback(audit_cache_relcache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(NAMESPACEOID, audit_cache_syscache_cb, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, audit_cache_syscache_cb, (Datum) 0);
	RegisterXactCallback(audit_cache_xact_cb, NULL);
	RegisterSubXactCallback(audit_cache_subxact_cb, NULL);
}

/*
 * The configuration of this trigger on this relation, from the cache or
 * resolved now.  A new one is built in a context under the statement's
 * until it is complete, so an error while resolving (a column named in an
 * option was dropped, say) leaves nothing behind.
 */
static AuditConfig *
get_audit_config(TriggerData *trigdata)
{
	Oid			tgoid = trigdata->tg_trigger->tgoid;
	AuditCacheEntry *e;
	AuditConfig *cfg;
	MemoryContext cxt;
	bool		found;
	uint64		invals;

	if (audit_cache == NULL)
		audit_cache_init();
	e = hash_search(audit_cache, &tgoid, HASH_FIND, NULL);
	if (e != NULL && e->valid &&
		e->cfg->relid == RelationGetRelid(trigdata->tg_relation))
		return e->cfg;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "rowkeeper audit trigger",
								ALLOCSET_SMALL_SIZES);
	cfg = MemoryContextAllocZero(cxt, sizeof(AuditConfig));
	cfg->cxt = cxt;
	invals = audit_cache_invals;
	resolve_audit_config(cfg, trigdata);

	/* complete: keep it, and retire the one it replaces */
	MemoryContextSetParent(cxt, audit_cache_cxt);
	e = hash_search(audit_cache, &tgoid, HASH_ENTER, &found);
	if (found && e->cfg != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(audit_cache_cxt);

		audit_graveyard = lappend(audit_graveyard, e->cfg->cxt);
		MemoryContextSwitchTo(old);
	}
	{
		MemoryContext old = MemoryContextSwitchTo(audit_cache_cxt);

		audit_fresh = lappend_oid(audit_fresh, tgoid);
		MemoryContextSwitchTo(old);
	}
	e->cfg = cfg;
	/* an invalidation that arrived while resolving may predate a read */
	e->valid = (invals == audit_cache_invals);
	return cfg;
}

/* A copy of a cached text in the current (per-row) memory context. */
static text *
text_copy(const text *t)
{
	text	   *copy = palloc(VARSIZE(t));

	memcpy(copy, t, VARSIZE(t));
	return copy;
}

/*
 * Role name as text, cached in cfg for the common case of one user.  The
 * caller gets a copy: the cached name is replaced when the role changes,
 * and a nested trigger call may do that while an outer one still holds it.
 */
static text *
role_name(AuditConfig *cfg, Oid roleid, Oid *cached_id, text **cached_name)
{
	if (*cached_id != roleid)
	{
		MemoryContext old = MemoryContextSwitchTo(cfg->cxt);

		/* a long-lived cache: the name it replaces must not pile up */
		if (*cached_name != NULL)
			pfree(*cached_name);
		*cached_name = NULL;
		*cached_id = InvalidOid;
		*cached_name = cstring_to_text(GetUserNameFromId(roleid, false));
		*cached_id = roleid;
		MemoryContextSwitchTo(old);
	}
	return text_copy(*cached_name);
}

/*
 * session_user (reloaded when it changes or a role is renamed) and the
 * client address (fixed for the life of the backend).
 */
static void
load_session_facts(void)
{
	MemoryContext old;

	if (session_facts_ready && session_user_cached == GetSessionUserId())
		return;

	old = MemoryContextSwitchTo(TopMemoryContext);
	if (session_user_name != NULL)
		pfree(session_user_name);	/* users copy it, see write_log_row */
	session_user_name = NULL;
	session_facts_ready = false;
	session_user_cached = GetSessionUserId();
	session_user_name = cstring_to_text(GetUserNameFromId(session_user_cached, false));
	if (!client_addr_ready)		/* fixed for the connection: once */
	{
		LOCAL_FCINFO(fc, 0);

		InitFunctionCallInfoData(*fc, NULL, 0, InvalidOid, NULL, NULL);
		client_addr = inet_client_addr(fc);
		client_addr_null = fc->isnull;
		client_addr_ready = true;
	}
	session_facts_ready = true;
	MemoryContextSwitchTo(old);
}

/*
 * Image of the logged columns of a row as a jsonb object.  only, when not
 * NULL, restricts it to the attributes marked true there; keys_only builds
 * the row key instead (key columns, never redacted).  The pairs go to
 * rk_json_object() in cfg->order, jsonb's order of keys.
 */
static Jsonb *
row_image(AuditConfig *cfg, TupleTableSlot *slot, const bool *only,
		  bool keys_only)
{
	RkJsonPair *pairs = palloc(sizeof(RkJsonPair) * cfg->norder);
	int			n = 0;
	int			k;

	slot_getallattrs(slot);
	for (k = 0; k < cfg->norder; k++)
	{
		int			i = cfg->order[k];

		if (keys_only ? !cfg->is_key[i] : !cfg->logged[i])
			continue;
		if (only != NULL && !only[i])
			continue;
		pairs[n].key = cfg->keys[i];
		pairs[n].keylen = cfg->keylens[i];
		if (!keys_only && cfg->redacted[i])
			rk_json_string(RK_REDACTED, &pairs[n].value);
		else
			rk_json_value(&cfg->cols[i], slot->tts_values[i],
						  slot->tts_isnull[i], &pairs[n].value);
		n++;
	}
	return rk_json_object(pairs, n);
}

/*
 * Which logged columns an UPDATE changed (binary comparison), into
 * changed[]; returns how many.  *key_changed reports a changed key column,
 * logged or not.
 */
static int
changed_columns(AuditConfig *cfg, TupleTableSlot *oldslot,
				TupleTableSlot *newslot, bool *changed, bool *key_changed)
{
	TupleDesc	tupdesc = oldslot->tts_tupleDescriptor;
	int			n = 0;
	int			i;

	slot_getallattrs(oldslot);
	slot_getallattrs(newslot);
	*key_changed = false;
	for (i = 0; i < cfg->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		bool		differs;

		changed[i] = false;
		if (att->attisdropped)
			continue;
		if (oldslot->tts_isnull[i] || newslot->tts_isnull[i])
			differs = oldslot->tts_isnull[i] != newslot->tts_isnull[i];
		else
			differs = !datumIsEqual(oldslot->tts_values[i],
									newslot->tts_values[i],
									att->attbyval, att->attlen);
		if (!differs)
			continue;
		if (cfg->is_key[i])
			*key_changed = true;
		if (cfg->logged[i])
		{
			changed[i] = true;
			n++;
		}
	}
	return n;
}

/* A text value, or NULL. */
static inline void
set_text(Datum *values, bool *isnull, int col, const char *s)
{
	isnull[col] = (s == NULL);
	values[col] = s ? PointerGetDatum(cstring_to_text(s)) : (Datum) 0;
}

/* A jsonb value, or NULL. */
static inline void
set_jsonb(Datum *values, bool *isnull, int col, Jsonb *jb)
{
	isnull[col] = (jb == NULL);
	values[col] = jb ? JsonbPGetDatum(jb) : (Datum) 0;
}

/*
 * The request's client address and metadata, parsed from their settings
 * once per distinct value (a request sets them once and writes many rows):
 * the last text seen and its value, in TopMemoryContext.  An unset setting
 * costs one test per row.  A value set with SET rather than set_context()
 * that does not parse is an error of the write, as a wrong tenant value is.
 */
static char *request_addr_text = NULL;
static Datum request_addr_value = (Datum) 0;
static char *metadata_text = NULL;
static Datum metadata_value = (Datum) 0;

static Datum
cached_parse(const char *s, char **cached_text, Datum *cached_value, PGFunction in)
{
	if (*cached_text == NULL || strcmp(*cached_text, s) != 0)
	{
		Datum		d = DirectFunctionCall1(in, CStringGetDatum(s));
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		Size		len = VARSIZE_ANY(DatumGetPointer(d));
		void	   *copy = palloc(len);
		char	   *t;

		memcpy(copy, DatumGetPointer(d), len);
		t = pstrdup(s);
		MemoryContextSwitchTo(old);
		if (*cached_text != NULL)
		{
			pfree(*cached_text);
			pfree(DatumGetPointer(*cached_value));
		}
		*cached_text = t;
		*cached_value = PointerGetDatum(copy);
	}
	return *cached_value;
}

/*
 * Write one log row.  The caller's identities are captured here, before
 * audit_log.c switches to the log's owner.
 */
static void
write_log_row(AuditConfig *cfg, RkLogWriter *w, const char *op, Jsonb *row_key,
			  Jsonb *old_key, Jsonb *old_row, Jsonb *new_row)
{
	Datum		values[RKL_NCOLUMNS];
	bool		isnull[RKL_NCOLUMNS];

	memset(isnull, 0, sizeof(isnull));
	load_session_facts();

	{
		TimestampTz at;

		/* on a Citus worker, the time of the coordinator's transaction */
		if (!cfg->citus_shard || !rk_citus_coordinator_time(&at))
			at = GetCurrentTransactionStartTimestamp();
		values[RKL_LOGGED_AT] = TimestampTzGetDatum(at);
	}
	values[RKL_TXID] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	values[RKL_TABLE_OID] = ObjectIdGetDatum(cfg->table_oid);
	values[RKL_SCHEMA_NAME] = PointerGetDatum(cfg->schema_name);
	values[RKL_TABLE_NAME] = PointerGetDatum(cfg->table_name);
	values[RKL_OP] = PointerGetDatum(cstring_to_text(op));
	set_jsonb(values, isnull, RKL_ROW_KEY, row_key);
	isnull[RKL_ROW_REF] = (row_key == NULL);
	values[RKL_ROW_REF] = row_key ? Int64GetDatum(row_ref(cfg->table_bits, row_key)) : (Datum) 0;
	values[RKL_TABLE_ID] = Int64GetDatum(cfg->table_id);
	isnull[RKL_TABLE_ID] = (cfg->table_id == 0);
	set_jsonb(values, isnull, RKL_OLD_KEY, old_key);
	set_jsonb(values, isnull, RKL_OLD_ROW, old_row);
	set_jsonb(values, isnull, RKL_NEW_ROW, new_row);
	set_text(values, isnull, RKL_ACTOR, rk_context_actor());
	values[RKL_DB_USER] = PointerGetDatum(role_name(cfg, GetUserId(), &cfg->cached_userid,
													&cfg->cached_username));
	values[RKL_ROLE_USER] = PointerGetDatum(role_name(cfg, GetOuterUserId(), &cfg->cached_outerid,
													  &cfg->cached_outername));
	values[RKL_SESSION_USER] = PointerGetDatum(text_copy(session_user_name));
	values[RKL_CLIENT_ADDR] = client_addr;
	isnull[RKL_CLIENT_ADDR] = client_addr_null;
	set_text(values, isnull, RKL_APPLICATION_NAME,
			 (application_name && application_name[0]) ? application_name : NULL);
	set_text(values, isnull, RKL_REQUEST_ID, rk_context_request_id());
	set_text(values, isnull, RKL_TENANT, rk_context_tenant());
	{
		const char *addr = rk_context_client_addr();
		const char *ua = rk_context_user_agent();
		const char *md = rk_context_metadata();

		isnull[RKL_REQUEST_ADDR] = (addr == NULL);
		values[RKL_REQUEST_ADDR] = addr ? cached_parse(addr, &request_addr_text,
													   &request_addr_value, inet_in) : (Datum) 0;
		set_text(values, isnull, RKL_USER_AGENT, ua);
		isnull[RKL_METADATA] = (md == NULL);
		values[RKL_METADATA] = md ? cached_parse(md, &metadata_text,
												 &metadata_value, jsonb_in) : (Datum) 0;
	}
	isnull[RKL_ERASED] = true;
	values[RKL_ERASED] = (Datum) 0;

	rk_audit_log_write(w, values, isnull);
}

/* The per-table "no write without an actor" rule. */
static void
check_actor(AuditConfig *cfg, Relation rel)
{
	if (cfg->require_actor && rk_context_actor() == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("writes to table \"%s\" require an actor",
						RelationGetRelationName(rel)),
				 errdetail("The table is audited with require_actor => true and rowkeeper.actor is not set."),
				 errhint("Call rowkeeper.set_context(actor => ...) in the transaction first.")));
}

/* UPDATE, or SOFT_DELETE / RESTORE when it sets / clears deleted_at. */
static const char *
update_op(AuditConfig *cfg, TupleTableSlot *oldslot, TupleTableSlot *newslot)
{
	int			a = cfg->soft_delete_att;

	if (a < 0)
		return "UPDATE";
	if (oldslot->tts_isnull[a] && !newslot->tts_isnull[a])
		return "SOFT_DELETE";
	if (!oldslot->tts_isnull[a] && newslot->tts_isnull[a])
		return "RESTORE";
	return "UPDATE";
}

/*
 * Log one row change of event ev: oldslot for UPDATE and DELETE, newslot for
 * INSERT and UPDATE.
 */
static void
log_change(AuditConfig *cfg, RkLogWriter *w, TriggerEvent ev,
		   TupleTableSlot *oldslot, TupleTableSlot *newslot)
{
	if (TRIGGER_FIRED_BY_INSERT(ev))
		write_log_row(cfg, w, "INSERT", row_image(cfg, newslot, NULL, true),
					  NULL, NULL, row_image(cfg, newslot, NULL, false));
	else if (TRIGGER_FIRED_BY_DELETE(ev))
		write_log_row(cfg, w, "DELETE", row_image(cfg, oldslot, NULL, true),
					  NULL, row_image(cfg, oldslot, NULL, false), NULL);
	else
	{
		bool	   *changed = palloc(sizeof(bool) * cfg->natts);
		bool		key_changed;
		int			n;

		n = changed_columns(cfg, oldslot, newslot, changed, &key_changed);
		/* nothing changed, or only the stamp an ORM wrote on a no-op save */
		if (cfg->skip_noop && !key_changed &&
			(n == 0 ||
			 (n == 1 && cfg->stamp_att >= 0 && changed[cfg->stamp_att])))
			return;
		write_log_row(cfg, w, update_op(cfg, oldslot, newslot),
					  row_image(cfg, newslot, NULL, true),
					  key_changed ? row_image(cfg, oldslot, NULL, true) : NULL,
					  row_image(cfg, oldslot, changed, false),
					  row_image(cfg, newslot, changed, false));
	}
}

/* A slot reading a transition table from its start, or NULL. */
static TupleTableSlot *
transition_reader(Tuplestorestate *ts, TupleDesc desc)
{
	int			ptr;

	if (ts == NULL)
		return NULL;
	/* our own read pointer: another trigger may have read the table */
	ptr = tuplestore_alloc_read_pointer(ts, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(ts, ptr);
	tuplestore_rescan(ts);
	return MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
}

static bool
transition_next(Tuplestorestate *ts, TupleTableSlot *slot)
{
	return ts != NULL && tuplestore_gettupleslot(ts, true, false, slot);
}

/*
 * Statement mode: one call per statement logs every row of the transition
 * tables.  For an UPDATE the old and new tables hold the rows in the same
 * order (the executor appends both images of a row together).
 */
static void
log_transition_tables(AuditConfig *cfg, RkLogWriter *w, TriggerData *td)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	Tuplestorestate *olds = td->tg_oldtable;
	Tuplestorestate *news = td->tg_newtable;
	TupleTableSlot *oslot = transition_reader(olds, desc);
	TupleTableSlot *nslot = transition_reader(news, desc);
	MemoryContext rowcxt = AllocSetContextCreate(CurrentMemoryContext,
												 "rowkeeper audit row",
												 ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		bool		have_old = transition_next(olds, oslot);
		bool		have_new = transition_next(news, nslot);
		MemoryContext old;

		if (!have_old && !have_new)
			break;
		if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) && have_old != have_new)
			elog(ERROR, "transition tables of an UPDATE on \"%s\" differ in length",
				 RelationGetRelationName(td->tg_relation));
		old = MemoryContextSwitchTo(rowcxt);
		log_change(cfg, w, td->tg_event, oslot, nslot);
		MemoryContextSwitchTo(old);
		MemoryContextReset(rowcxt);
	}
	if (oslot)
		ExecDropSingleTupleTableSlot(oslot);
	if (nslot)
		ExecDropSingleTupleTableSlot(nslot);
	MemoryContextDelete(rowcxt);
}

/* The ways the trigger may be attached; anything else is a misuse. */
static void
check_trigger_protocol(TriggerData *td)
{
	TriggerEvent ev = td->tg_event;
	bool		ok;

	if (!TRIGGER_FIRED_AFTER(ev))
		ok = false;
	else if (TRIGGER_FIRED_BY_TRUNCATE(ev))
		ok = !TRIGGER_FIRED_FOR_ROW(ev);
	else if (TRIGGER_FIRED_FOR_ROW(ev))
		ok = true;
	else						/* statement mode needs its transition tables */
		ok = (TRIGGER_FIRED_BY_INSERT(ev) || td->tg_oldtable != NULL) &&
			(TRIGGER_FIRED_BY_DELETE(ev) || td->tg_newtable != NULL);
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rowkeeper.audit_trigger() must be fired AFTER ... FOR EACH ROW, AFTER ... FOR EACH STATEMENT with transition tables, or AFTER TRUNCATE"),
				 errhint("Create the triggers with rowkeeper.enable_audit().")));
}

/*
 * rowkeeper.audit_trigger(): see the file header.
 */
Datum
audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent ev;
	AuditConfig *cfg;
	RkLogWriter *w;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rowkeeper.audit_trigger() must be called as a trigger")));
	check_trigger_protocol(trigdata);
	ev = trigdata->tg_event;

	cfg = get_audit_config(trigdata);
	check_actor(cfg, trigdata->tg_relation);

	/*
	 * A Citus shard: TRUNCATE is logged once, by the Citus table's own
	 * trigger where the statement ran (the coordinator), not by each
	 * shard; a reference table's change once, by one of its copies.
	 */
	if (cfg->citus_shard &&
		(TRIGGER_FIRED_BY_TRUNCATE(ev) || !cfg->citus_logs_here))
		return PointerGetDatum(NULL);

	/* statement mode writes many rows per call: batch them */
	w = rk_audit_log_open(cfg->log_owner,
						  !TRIGGER_FIRED_FOR_ROW(ev) && !TRIGGER_FIRED_BY_TRUNCATE(ev));
	if (TRIGGER_FIRED_BY_TRUNCATE(ev))
		write_log_row(cfg, w, "TRUNCATE", NULL, NULL, NULL, NULL);
	else if (TRIGGER_FIRED_BY_INSERT(ev) && TRIGGER_FIRED_FOR_ROW(ev))
		log_change(cfg, w, ev, NULL, trigdata->tg_trigslot);
	else if (TRIGGER_FIRED_FOR_ROW(ev))		/* tg_newslot: UPDATE only */
		log_change(cfg, w, ev, trigdata->tg_trigslot, trigdata->tg_newslot);
	else
		log_transition_tables(cfg, w, trigdata);
	rk_audit_log_close(w);

	return PointerGetDatum(NULL);
}

/*
 * rowkeeper._audit_log_drift(tbl regclass, op text, complete boolean)
 * RETURNS boolean: write an AUDIT_DRIFT or AUDIT_REPAIR entry for tbl when
 * rowkeeper._audit_drift(tbl, complete) finds its audit triggers changed
 * away from what enable_audit makes; its new_row is {"problems": [...]}.
 * The problems are found here, never taken from the caller, and only a
 * role that could have changed the triggers (a member of the owner's role,
 * or one with TRIGGER on the table) may have them recorded.
 */
PG_FUNCTION_INFO_V1(audit_log_drift);

Datum
audit_log_drift(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *op = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		complete = PG_GETARG_BOOL(2);
	MemoryContext callcxt = CurrentMemoryContext;
	Oid			argtypes[2] = {REGCLASSOID, BOOLOID};
	Datum		args[2];
	HeapTuple	tup;
	Oid			owner;
	Jsonb	   *detail = NULL;
	AuditConfig cfg;
	RkLogWriter *w;
	int			rc;
	bool		allowed = false;
	ListCell   *lc;

	if (strcmp(op, "AUDIT_DRIFT") != 0 && strcmp(op, "AUDIT_REPAIR") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rowkeeper._audit_log_drift(): unknown op \"%s\"", op),
				 errdetail("Drift entries are AUDIT_DRIFT or AUDIT_REPAIR."),
				 errhint("This function is internal to rowkeeper.")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	ReleaseSysCache(tup);
	/* the table or one of its partitions (whose clones its owner can change) */
	foreach(lc, find_all_inheritors(relid, AccessShareLock, NULL))
	{
		Oid			member = lfirst_oid(lc);

		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(member));
		if (!HeapTupleIsValid(tup))
			continue;
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);
		if (has_privs_of_role(GetUserId(), owner) ||
			pg_class_aclcheck(member, GetUserId(), ACL_TRIGGER) == ACLCHECK_OK)
		{
			allowed = true;
			break;
		}
	}
	if (!allowed)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to record audit drift of table \"%s\"",
						get_rel_name(relid)),
				 errdetail("Only a role that can change the table's triggers records their drift."),
				 errhint("This function is internal to rowkeeper.")));

	args[0] = ObjectIdGetDatum(relid);
	args[1] = BoolGetDatum(complete);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args("SELECT pg_catalog.jsonb_build_object('problems', d) "
							   "FROM rowkeeper._audit_drift($1, $2) d "
							   "WHERE pg_catalog.cardinality(d) > 0",
							   2, argtypes, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "rowkeeper._audit_drift() failed: %s", SPI_result_code_string(rc));
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									  1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(callcxt);

		detail = DatumGetJsonbPCopy(d);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	if (detail == NULL)
		PG_RETURN_BOOL(false);

	memset(&cfg, 0, sizeof(cfg));
	cfg.cxt = CurrentMemoryContext;
	cfg.relid = relid;
	cfg.table_oid = relid;
	cfg.schema_name = cstring_to_text(get_namespace_name(get_rel_namespace(relid)));
	cfg.table_name = cstring_to_text(get_rel_name(relid));
	/* takes the id back, never makes one: see rowkeeper._audit_bind() */
	cfg.table_id = rk_audit_table_id(relid, false);
	cfg.table_bits = table_bits(cfg.table_id);
	cfg.log_owner = audit_log_owner(&cfg.log_relid);
	cfg.cached_userid = InvalidOid;
	cfg.cached_outerid = InvalidOid;

	w = rk_audit_log_open(cfg.log_owner, false);
	write_log_row(&cfg, w, op, NULL, NULL, NULL, detail);
	rk_audit_log_close(w);
	PG_RETURN_BOOL(true);
}

/*
 * rowkeeper.log_event(action text, target text DEFAULT NULL, key jsonb
 * DEFAULT NULL, details jsonb DEFAULT NULL) RETURNS bigint
 *
 * An application event (a login, an export, a permission change) as an
 * entry of the log, op EVENT: the same who/when/context columns and the
 * same writer as a row change, so the same hash chain, tenant scoping and
 * retention.  new_row is {"action": action, "details": details}.
 *
 * target, when it names (with the caller's search_path) an audited table
 * the caller may SELECT from, makes the event part of that table's history
 * (its table_id) and, with key, of that row's (the key normalized as
 * row_history reads it, and its row_ref): row_history shows it among the
 * row's changes.  Any other target is kept as a label in table_name.  op is
 * fixed here: no caller can write an entry that claims a row change.
 * Returns the entry's id.
 */
#define RK_EVENT_ACTION_MAX 200
#define RK_EVENT_TARGET_MAX 1000
#define RK_EVENT_KEY_MAX 2048
#define RK_EVENT_DETAILS_MAX 65536

PG_FUNCTION_INFO_V1(audit_log_event);

static void
event_size_check(const char *what, Size size, Size max, const char *hint)
{
	if (size > max)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("rowkeeper.log_event(): %s is too long (%zu bytes)", what, size),
				 errdetail("At most %zu bytes are logged as an event's %s.", max, what),
				 errhint("%s", hint)));
}

extern Datum audit_normalize_key(PG_FUNCTION_ARGS);

Datum
audit_log_event(PG_FUNCTION_ARGS)
{
	text	   *action;
	Jsonb	   *key = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	Jsonb	   *details = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	Jsonb	   *row_key = NULL;
	Jsonb	   *new_row;
	AuditConfig cfg;
	RkLogWriter *w;
	Oid			relid = InvalidOid;
	char	   *target = NULL;
	JsonbParseState *state = NULL;
	JsonbValue	k,
				v;

	if (PG_ARGISNULL(0) || VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(0)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rowkeeper.log_event(): action must not be NULL or empty"),
				 errdetail("Every event names what happened."),
				 errhint("For example: rowkeeper.log_event('login') or rowkeeper.log_event('export', 'invoices', details => '{\"rows\": 120}').")));
	action = PG_GETARG_TEXT_PP(0);
	event_size_check("action", VARSIZE_ANY_EXHDR(action), RK_EVENT_ACTION_MAX,
					 "Name the action briefly (\"login\", \"export\") and put the rest in details.");
	if (!PG_ARGISNULL(1))
	{
		text	   *t = PG_GETARG_TEXT_PP(1);

		event_size_check("target", VARSIZE_ANY_EXHDR(t), RK_EVENT_TARGET_MAX,
						 "Pass a table name, or a short label of what the event concerns.");
		target = text_to_cstring(t);
		if (target[0] == '\0')
			target = NULL;
	}
	if (key != NULL)
		event_size_check("key", VARSIZE(key), RK_EVENT_KEY_MAX,
						 "Pass the key columns of the row only, e.g. '{\"id\": 42}'.");
	if (details != NULL)
		event_size_check("details", VARSIZE(details), RK_EVENT_DETAILS_MAX,
						 "Log a summary, or a reference to where the full data is kept.");

	memset(&cfg, 0, sizeof(cfg));
	cfg.cxt = CurrentMemoryContext;
	cfg.cached_userid = InvalidOid;
	cfg.cached_outerid = InvalidOid;

	if (target != NULL)
	{
		List	   *parts = NIL;

		/* a target that does not parse as a table name is a label */
		if (SplitIdentifierString(pstrdup(target), '.', &parts) &&
			list_length(parts) >= 1 && list_length(parts) <= 2)
		{
			List	   *names = NIL;
			ListCell   *lc;

			foreach(lc, parts)
				names = lappend(names, makeString((char *) lfirst(lc)));
			relid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
		}
	}
	if (OidIsValid(relid))
	{
		List	   *ancestors = get_partition_ancestors(relid);
		Oid			root = ancestors != NIL ? llast_oid(ancestors) : relid;

		if (pg_class_aclcheck(root, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("rowkeeper.log_event(): permission denied for table \"%s\"",
							get_rel_name(root)),
					 errdetail("An event joins a table's history only for a role that may read the table."),
					 errhint("GRANT SELECT ON %s TO %s; or pass a target that is not a table.",
							 quote_qualified_identifier(get_namespace_name(get_rel_namespace(root)),
														get_rel_name(root)),
							 quote_identifier(GetUserNameFromId(GetUserId(), false)))));
		cfg.table_id = rk_audit_table_id(root, false);
		if (cfg.table_id > 0)
		{
			cfg.relid = root;
			cfg.table_oid = root;
			cfg.schema_name = cstring_to_text(get_namespace_name(get_rel_namespace(root)));
			cfg.table_name = cstring_to_text(get_rel_name(root));
			cfg.table_bits = table_bits(cfg.table_id);
			if (key != NULL)
				row_key = DatumGetJsonbP(DirectFunctionCall2(audit_normalize_key,
															 ObjectIdGetDatum(root),
															 JsonbPGetDatum(key)));
		}
	}
	if (cfg.table_id <= 0)
	{
		/* not an audited table: the target is a label */
		cfg.table_id = 0;
		cfg.table_oid = InvalidOid;
		cfg.schema_name = cstring_to_text("");
		cfg.table_name = cstring_to_text(target != NULL ? target : "");
		cfg.table_bits = table_bits(0);
		row_key = key;
	}
	cfg.log_owner = audit_log_owner(&cfg.log_relid);

	/* new_row: {"action": ..., "details": ...} */
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	k.type = jbvString;
	k.val.string.val = "action";
	k.val.string.len = 6;
	pushJsonbValue(&state, WJB_KEY, &k);
	v.type = jbvString;
	v.val.string.val = VARDATA_ANY(action);
	v.val.string.len = VARSIZE_ANY_EXHDR(action);
	pushJsonbValue(&state, WJB_VALUE, &v);
	if (details != NULL)
	{
		k.val.string.val = "details";
		k.val.string.len = 7;
		pushJsonbValue(&state, WJB_KEY, &k);
		v.type = jbvBinary;
		v.val.binary.data = &details->root;
		v.val.binary.len = VARSIZE(details) - VARHDRSZ;
		pushJsonbValue(&state, WJB_VALUE, &v);
	}
	new_row = JsonbValueToJsonb(pushJsonbValue(&state, WJB_END_OBJECT, NULL));

	w = rk_audit_log_open(cfg.log_owner, false);
	write_log_row(&cfg, w, "EVENT", row_key, NULL, NULL, new_row);
	rk_audit_log_close(w);
	PG_RETURN_INT64(rk_audit_log_last_id());
}

/*
 * rowkeeper._audit_log_erasure(op text, tbl regclass, row_key jsonb,
 * detail jsonb) RETURNS bigint
 *
 * The log entry that records an erasure (see rowkeeper.forget() and
 * rowkeeper.forget_actor()): op FORGET, in the history of the table's row
 * (tbl and its normalized row_key), or FORGET_ACTOR (no table); new_row is
 * detail, which the caller builds without any erased value.  Written by the
 * audit trigger's own writer, so with the caller's who/when/context and in
 * the hash chain.  Internal: EXECUTE is revoked from PUBLIC, and the op is
 * fixed to these two.  Returns the entry's id.
 */
PG_FUNCTION_INFO_V1(audit_log_erasure);

Datum
audit_log_erasure(PG_FUNCTION_ARGS)
{
	char	   *op = PG_ARGISNULL(0) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	Oid			relid = PG_ARGISNULL(1) ? InvalidOid : PG_GETARG_OID(1);
	Jsonb	   *row_key = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	Jsonb	   *detail = PG_ARGISNULL(3) ? NULL : PG_GETARG_JSONB_P(3);
	AuditConfig cfg;
	RkLogWriter *w;

	if (strcmp(op, "FORGET") != 0 && strcmp(op, "FORGET_ACTOR") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rowkeeper._audit_log_erasure(): unknown op \"%s\"", op),
				 errdetail("Erasure records are FORGET or FORGET_ACTOR."),
				 errhint("This function is internal to rowkeeper.")));
	memset(&cfg, 0, sizeof(cfg));
	cfg.cxt = CurrentMemoryContext;
	cfg.cached_userid = InvalidOid;
	cfg.cached_outerid = InvalidOid;
	if (OidIsValid(relid))
	{
		cfg.table_id = rk_audit_table_id(relid, false);
		cfg.relid = relid;
		cfg.table_oid = relid;
		cfg.schema_name = cstring_to_text(get_namespace_name(get_rel_namespace(relid)));
		cfg.table_name = cstring_to_text(get_rel_name(relid));
	}
	else
	{
		cfg.schema_name = cstring_to_text("");
		cfg.table_name = cstring_to_text("");
		row_key = NULL;
	}
	if (cfg.table_id <= 0)
		cfg.table_id = 0;
	cfg.table_bits = table_bits(cfg.table_id);
	cfg.log_owner = audit_log_owner(&cfg.log_relid);

	w = rk_audit_log_open(cfg.log_owner, false);
	write_log_row(&cfg, w, op, row_key, NULL, NULL, detail);
	rk_audit_log_close(w);
	PG_RETURN_INT64(rk_audit_log_last_id());
}
