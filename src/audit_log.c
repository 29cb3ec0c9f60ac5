/*-------------------------------------------------------------------------
 *
 * audit_log.c
 *	  Writing one row into rowkeeper.audit_log: the audit trigger's inner
 *	  loop, so it avoids the executor when it safely can.
 *
 *	  Direct path.  The log is range-partitioned by logged_at, which is the
 *	  transaction start time, so every row of a transaction lands in the
 *	  same partition.  We find that partition once (binary search over the
 *	  partition bounds, as tuple routing does), keep its bounds, its column
 *	  map and its index list in a backend-lifetime cache, and then insert
 *	  each row with heap_insert() and index_insert() under the same locks
 *	  an INSERT into the log would take (RowExclusiveLock on the log and the
 *	  partition).  A relcache callback drops the cache when the log or the
 *	  partition changes (new partition, new index, ALTER TABLE), and the
 *	  lock taken before each insert processes pending invalidations, so a
 *	  stale cache is never used.
 *
 *	  The direct path bypasses what an INSERT would run on the log itself,
 *	  so it is used only when there is nothing of that kind: the partition
 *	  is a plain heap table with no triggers, no CHECK constraints, no row
 *	  security, no generated columns and no columns other than ours, and its
 *	  indexes are plain (no expressions, predicates, uniqueness or exclusion)
 *	  and ready.  Otherwise (a DBA added a trigger or a unique index to the
 *	  log, say), and for a row that would violate a NOT NULL constraint,
 *	  the row goes through a kept SPI plan, an ordinary INSERT, which routes,
 *	  checks and reports errors exactly as PostgreSQL does.
 *
 *	  Rows are appended: the direct path inserts with HEAP_INSERT_SKIP_FSM,
 *	  into the page this backend last filled, the last page or a new one,
 *	  never into the free space a VACUUM of the log recorded in older pages
 *	  (the SPI path, an ordinary INSERT, still may).  Filling those gaps scattered new
 *	  entries over the partition, each into a page that then needed a
 *	  full-page image in the WAL and into a block range whose BRIN summary
 *	  had to be widened (an audited UPDATE cost 17,000 instructions in
 *	  brininsert instead of 2,300), and it widened the summaries for good:
 *	  a range holding one recent entry matches every recent time window.
 *	  Appended, the log stays in insertion order, which the BRIN index on
 *	  (logged_at, id, txid) relies on, and inserts land in the range being
 *	  filled, which is not summarized yet.  The little space left at the
 *	  end of each page is not reused; purged space is not either (purge
 *	  drops whole partitions, the rest is the boundary month).
 *
 *	  The SPI path runs as the log's owner (the caller passes it), so
 *	  application roles need no privilege on the log; the direct path
 *	  checks no privileges at all, like the RI triggers' own writes.
 *
 *	  The columns the writer fills, with their types, are listed once,
 *	  below (log_column_names, log_column_types, in RkLogColumn order);
 *	  rowkeeper._audit_log_columns() returns that list so that the
 *	  regression test "contracts" checks the table's definition in SQL
 *	  against it (a column added on one side only fails the test).
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "commands/sequence.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "audit_log.h"
#include "compat.h"
#include "rowkeeper.h"

/* Column names of the log, in RkLogColumn order, and their types. */
static const char *const log_column_names[RKL_NCOLUMNS] = {
	"logged_at", "txid", "table_oid", "schema_name", "table_name", "op",
	"row_key", "old_key", "old_row", "new_row",
	"actor", "db_user", "role_user", "session_user_name", "client_addr",
	"application_name", "request_id", "tenant", "row_ref", "table_id",
	"request_addr", "user_agent", "metadata", "erased"
};
static const Oid log_column_types[RKL_NCOLUMNS] = {
	TIMESTAMPTZOID, XID8OID, OIDOID, TEXTOID, TEXTOID, TEXTOID,
	JSONBOID, JSONBOID, JSONBOID, JSONBOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, INETOID, TEXTOID, TEXTOID, TEXTOID,
	INT8OID, INT8OID,
	INETOID, TEXTOID, JSONBOID, JSONBOID
};

PG_FUNCTION_INFO_V1(_audit_log_columns);

/*
 * rowkeeper._audit_log_columns(OUT names text[], OUT types regtype[])
 *
 * The columns of rowkeeper.audit_log the writer fills, with their types,
 * in its order (the id column, from the log's sequence, is not one).
 */
Datum
_audit_log_columns(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		names[RKL_NCOLUMNS];
	Datum		types[RKL_NCOLUMNS];
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int			c;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	for (c = 0; c < RKL_NCOLUMNS; c++)
	{
		names[c] = CStringGetTextDatum(log_column_names[c]);
		types[c] = ObjectIdGetDatum(log_column_types[c]);
	}
	values[0] = PointerGetDatum(construct_array(names, RKL_NCOLUMNS, TEXTOID,
												-1, false, TYPALIGN_INT));
	values[1] = PointerGetDatum(construct_array(types, RKL_NCOLUMNS, REGTYPEOID,
												sizeof(Oid), true, TYPALIGN_INT));
	tupdesc = BlessTupleDesc(tupdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* The id of the row written last by this backend (rk_audit_log_last_id). */
static int64 last_log_id = 0;

/* Slot RKL_NCOLUMNS of a column map stands for the id column. */
#define RKL_ID RKL_NCOLUMNS
#define RKL_MAP_SIZE (RKL_NCOLUMNS + 1)

#define MAX_DIRECT_INDEXES 16

/*
 * Where rows of the current time range go, and whether they may be written
 * directly.  Valid until the relcache callback fires for the log or the
 * partition; covers logged_at values in [lo, hi).
 */
typedef struct LogTarget
{
	bool		valid;
	Oid			root;			/* rowkeeper.audit_log */
	Oid			seq;			/* rowkeeper.audit_log_id_seq */
	Oid			part;			/* leaf partition for [lo, hi) */
	bool		has_lo;
	bool		has_hi;
	TimestampTz lo;
	TimestampTz hi;
	bool		direct;			/* direct path allowed */
	bool		present[RKL_NCOLUMNS];	/* columns the log has (an older
										 * install may lack newer ones) */
	int			natts;			/* attributes of the partition */
	int			map[RKL_MAP_SIZE];	/* partition attno - 1 of each column */
	int			nindexes;
	Oid			indexes[MAX_DIRECT_INDEXES];
} LogTarget;

static LogTarget target;
static uint64 target_invalidations = 0;
static bool callback_registered = false;
static SPIPlanPtr spi_insert_plan = NULL;
static bool spi_plan_present[RKL_NCOLUMNS];	/* columns that plan writes */

/* Relcache callback: the log, its partition, or everything changed. */
static void
log_target_invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == target.root || relid == target.part)
	{
		target.valid = false;
		target_invalidations++;
	}
}

/* Called from _PG_init. */
void
rk_audit_log_init(void)
{
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(log_target_invalidate, (Datum) 0);
		callback_registered = true;
	}
}

static Oid
log_relid(void)
{
	return rk_own_relid(RK_AUDIT_LOG, false);
}

/*
 * Find the leaf partition for ts among the log's range partitions, and the
 * bounds of the range it covers.  Returns false when the log is not
 * partitioned as we expect (then the SPI path routes).
 */
static bool
route(Relation root, TimestampTz ts)
{
	PartitionKey key;
	PartitionDesc pd;
	PartitionBoundInfo bi;
	AttrNumber	logged_at = InvalidAttrNumber;
	Datum		value = TimestampTzGetDatum(ts);
	bool		is_equal;
	int			off;
	int			idx;
	int			i;

	for (i = 0; i < RelationGetDescr(root)->natts; i++)
		if (strcmp(NameStr(TupleDescAttr(RelationGetDescr(root), i)->attname),
				   "logged_at") == 0)
			logged_at = i + 1;

	key = RelationGetPartitionKey(root);
	if (key == NULL || key->strategy != PARTITION_STRATEGY_RANGE ||
		key->partnatts != 1 || key->partattrs[0] != logged_at)
		return false;
	pd = rk_partition_desc(root);
	if (pd->nparts == 0 || rk_partdesc_has_detached(pd))
		return false;
	bi = pd->boundinfo;

	off = partition_range_datum_bsearch(key->partsupfunc, key->partcollation,
										bi, 1, &value, &is_equal);
	idx = bi->indexes[off + 1];
	if (idx < 0)
		idx = bi->default_index;
	if (idx < 0)
		return false;
	if (pd->is_leaf != NULL && !pd->is_leaf[idx])
		return false;			/* sub-partitioned: let the executor route */

	target.part = pd->oids[idx];
	target.has_lo = off >= 0 && bi->kind[off][0] == PARTITION_RANGE_DATUM_VALUE;
	if (target.has_lo)
		target.lo = DatumGetTimestampTz(bi->datums[off][0]);
	target.has_hi = off + 1 < bi->ndatums &&
		bi->kind[off + 1][0] == PARTITION_RANGE_DATUM_VALUE;
	if (target.has_hi)
		target.hi = DatumGetTimestampTz(bi->datums[off + 1][0]);
	return true;
}

/* Map the partition's columns onto ours; false if they differ. */
static bool
map_columns(Relation part)
{
	TupleDesc	desc = RelationGetDescr(part);
	int			found = 0;
	int			i,
				c;

	for (c = 0; c < RKL_MAP_SIZE; c++)
		target.map[c] = -1;
	target.natts = desc->natts;
	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *name = NameStr(att->attname);
		int			col = -1;

		if (att->attisdropped)
			continue;
		if (strcmp(name, "id") == 0)
			col = RKL_ID;
		else
			for (c = 0; c < RKL_NCOLUMNS; c++)
				if (strcmp(name, log_column_names[c]) == 0)
					col = c;
		if (col < 0 || att->attgenerated ||
			(col < RKL_NCOLUMNS && att->atttypid != log_column_types[col]))
			return false;
		target.map[col] = i;
		found++;
	}
	for (c = 0; c < RKL_NCOLUMNS; c++)
		if (target.map[c] < 0 && target.present[c])
			return false;
	return target.map[RKL_ID] >= 0 && found > 0;
}

/* A plain, ready index the direct path can maintain with index_insert(). */
static bool
plain_index(Relation index)
{
	Form_pg_index ix = index->rd_index;
	int			k;

	if (!ix->indisready)
		return true;			/* not maintained yet: nothing to insert */
	if (ix->indisunique || ix->indisexclusion ||
		RelationGetIndexExpressions(index) != NIL ||
		RelationGetIndexPredicate(index) != NIL)
		return false;
	for (k = 0; k < ix->indnkeyatts; k++)
		if (ix->indkey.values[k] <= 0)
			return false;
	return true;
}

/* Whether nothing on the partition requires the executor. */
static bool
direct_allowed(Relation part)
{
	List	   *indexes;
	ListCell   *lc;
	bool		ok = true;

	if (part->rd_rel->relkind != RELKIND_RELATION ||
		part->rd_rel->relam != HEAP_TABLE_AM_OID ||
		part->trigdesc != NULL ||
		part->rd_rel->relrowsecurity ||
		(part->rd_att->constr != NULL &&
		 (part->rd_att->constr->num_check > 0 ||
		  part->rd_att->constr->has_generated_stored)) ||
		!map_columns(part))
		return false;

	indexes = RelationGetIndexList(part);
	target.nindexes = 0;
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), RowExclusiveLock);

		if (!plain_index(index) || target.nindexes >= MAX_DIRECT_INDEXES)
			ok = false;
		else if (index->rd_index->indisready)
			target.indexes[target.nindexes++] = RelationGetRelid(index);
		index_close(index, NoLock);
	}
	list_free(indexes);
	return ok;
}

/*
 * Which of our columns the log has.  A newer library can run against an
 * older install of the extension for as long as ALTER EXTENSION UPDATE has
 * not run; the columns added since are then left out.
 */
static void
log_columns_present(Relation root)
{
	TupleDesc	desc = RelationGetDescr(root);
	int			c,
				i;

	for (c = 0; c < RKL_NCOLUMNS; c++)
	{
		target.present[c] = false;
		for (i = 0; i < desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, i);

			if (!att->attisdropped &&
				strcmp(NameStr(att->attname), log_column_names[c]) == 0)
				target.present[c] = true;
		}
	}
}

/*
 * Rebuild the target for ts.  Repeated if an invalidation arrives while we
 * build (the locks we take process them).
 */
static void
build_target(TimestampTz ts)
{
	for (;;)
	{
		uint64		seen;
		Relation	root;

		target.valid = false;
		target.root = log_relid();
		root = table_open(target.root, RowExclusiveLock);
		seen = target_invalidations;
		target.seq = get_relname_relid(RK_AUDIT_LOG_ID_SEQ,
									   RelationGetNamespace(root));
		target.direct = false;
		target.part = InvalidOid;
		target.has_lo = target.has_hi = false;	/* no route: covers all */
		log_columns_present(root);
		if (root->rd_rel->relkind == RELKIND_PARTITIONED_TABLE &&
			OidIsValid(target.seq) && route(root, ts))
		{
			Relation	part = table_open(target.part, RowExclusiveLock);

			target.direct = direct_allowed(part);
			table_close(part, NoLock);
		}
		table_close(root, NoLock);
		if (seen == target_invalidations)
		{
			target.valid = true;
			return;
		}
	}
}

static bool
target_covers(TimestampTz ts)
{
	return target.valid &&
		(!target.has_lo || ts >= target.lo) &&
		(!target.has_hi || ts < target.hi);
}

/*
 * The SPI path: INSERT INTO rowkeeper.audit_log (...) VALUES (...), of the
 * columns the log has.  The plan is kept, and made again when that set
 * changes (ALTER EXTENSION UPDATE in a running backend).
 */
static void
spi_insert(Datum *values, bool *isnull, Oid log_owner)
{
	Datum		pvalues[RKL_NCOLUMNS];
	char		nulls[RKL_NCOLUMNS];
	Oid			types[RKL_NCOLUMNS];
	Oid			save_userid;
	int			save_sec;
	int			rc;
	int			c,
				n = 0;

	if (spi_insert_plan != NULL &&
		memcmp(spi_plan_present, target.present, sizeof(spi_plan_present)) != 0)
	{
		SPI_freeplan(spi_insert_plan);
		spi_insert_plan = NULL;
	}
	for (c = 0; c < RKL_NCOLUMNS; c++)
	{
		if (!target.present[c])
			continue;
		pvalues[n] = values[c];
		nulls[n] = isnull[c] ? 'n' : ' ';
		types[n] = log_column_types[c];
		n++;
	}

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(log_owner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (spi_insert_plan == NULL)
	{
		StringInfoData sql;
		SPIPlanPtr	plan;
		int			k = 0;

		initStringInfo(&sql);
		appendStringInfoString(&sql, "INSERT INTO rowkeeper.audit_log (");
		for (c = 0; c < RKL_NCOLUMNS; c++)
			if (target.present[c])
				appendStringInfo(&sql, "%s%s", k++ ? ", " : "",
								 quote_identifier(log_column_names[c]));
		appendStringInfoString(&sql, ") VALUES (");
		for (k = 0; k < n; k++)
			appendStringInfo(&sql, "%s$%d", k ? ", " : "", k + 1);
		appendStringInfoString(&sql, ") RETURNING id");

		plan = SPI_prepare(sql.data, n, types);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed for the audit insert: %s",
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed for the audit insert");
		spi_insert_plan = plan;
		memcpy(spi_plan_present, target.present, sizeof(spi_plan_present));
	}
	rc = SPI_execute_plan(spi_insert_plan, pvalues, nulls, false, 0);
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "audit insert failed: %s", SPI_result_code_string(rc));
	{
		bool		idnull;
		Datum		id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
									   1, &idnull);

		last_log_id = idnull ? 0 : DatumGetInt64(id);
	}
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");
	SetUserIdAndSecContext(save_userid, save_sec);
}

/*
 * A writer keeps the partition and its indexes open across the rows of one
 * trigger call (a statement-mode call writes many), with the IndexInfo
 * each index_insert() needs (BRIN caches its descriptor there).
 *
 * A batching writer (statement mode) collects the formed rows and writes
 * them with one table_multi_insert() per BATCH_ROWS rows or BATCH_BYTES
 * bytes, which WAL-logs a page of new rows as one record instead of one
 * record per row, then adds their index entries from the key values kept
 * with each row.  Ids are drawn when a row is formed, so the log's id order
 * is the order of the changes either way.
 */
#define BATCH_ROWS 100
#define BATCH_BYTES (1024 * 1024)

struct RkLogWriter
{
	MemoryContext mcxt;			/* where its state lives: the caller's */
	Oid			log_owner;
	bool		batching;
	Relation	part;			/* open partition, or NULL */
	int			nindexes;
	Relation	indexes[MAX_DIRECT_INDEXES];
	IndexInfo  *infos[MAX_DIRECT_INDEXES];
	Datum	   *pvalues;		/* the row in partition column order */
	bool	   *pisnull;
	/* batching only: rows formed but not yet written */
	MemoryContext batchcxt;		/* their tuples; reset by every flush */
	TupleTableSlot **slots;		/* up to BATCH_ROWS slots on part */
	int			nslots;			/* made so far (as the batch first grows) */
	Datum	   *keys[BATCH_ROWS];	/* index key values of each row, */
	bool	   *keynulls[BATCH_ROWS];	/* index after index */
	int			nbatch;
	Size		batchbytes;
	int			nkeys;			/* key columns of all indexes */
};

RkLogWriter *
rk_audit_log_open(Oid log_owner, bool batching)
{
	RkLogWriter *w = palloc0(sizeof(RkLogWriter));

	w->mcxt = CurrentMemoryContext;
	w->log_owner = log_owner;
	w->batching = batching;
	return w;
}

static void insert_index_entries(RkLogWriter *w, ItemPointer tid,
								 Datum *keys, bool *keynulls);

/* Write the batched rows: one multi-insert, then their index entries. */
static void
writer_flush(RkLogWriter *w)
{
	int			i;

	if (w->nbatch == 0)
		return;
	table_multi_insert(w->part, w->slots, w->nbatch,
					   GetCurrentCommandId(true), TABLE_INSERT_SKIP_FSM, NULL);
	for (i = 0; i < w->nbatch; i++)
	{
		insert_index_entries(w, &w->slots[i]->tts_tid, w->keys[i],
							 w->keynulls[i]);
		ExecClearTuple(w->slots[i]);
	}
	w->nbatch = 0;
	w->batchbytes = 0;
	MemoryContextReset(w->batchcxt);
}

/*
 * Write what is batched and close the partition and its indexes (locks
 * stay until commit).
 */
static void
writer_release(RkLogWriter *w)
{
	int			i;

	if (w->part == NULL)
		return;
	writer_flush(w);
	if (w->slots != NULL)
	{
		for (i = 0; i < w->nslots; i++)
			ExecDropSingleTupleTableSlot(w->slots[i]);
		pfree(w->slots);
		w->slots = NULL;
		w->nslots = 0;
	}
	for (i = 0; i < w->nindexes; i++)
	{
		rk_index_insert_cleanup(w->indexes[i], w->infos[i]);
		index_close(w->indexes[i], NoLock);
	}
	table_close(w->part, NoLock);
	w->part = NULL;
	w->nindexes = 0;
	w->nkeys = 0;
}

void
rk_audit_log_close(RkLogWriter *w)
{
	writer_release(w);
}

/*
 * Make w->part the partition for ts, locked as an INSERT would lock it.
 * Returns false when the row must take the SPI path.  A lock newly taken
 * processes pending invalidations, which may void the target: then again.
 */
static bool
writer_attach(RkLogWriter *w, TimestampTz ts)
{
	MemoryContext old;
	int			i;

	if (w->part != NULL && target_covers(ts) &&
		RelationGetRelid(w->part) == target.part)
		return true;
	writer_release(w);
	for (;;)
	{
		if (!target_covers(ts))
			build_target(ts);
		if (!target.direct)
			return false;
		LockRelationOid(target.root, RowExclusiveLock);
		w->part = table_open(target.part, RowExclusiveLock);
		if (target_covers(ts))
			break;
		table_close(w->part, NoLock);
		w->part = NULL;
	}
	/* rows may be built in shorter-lived contexts than the writer */
	old = MemoryContextSwitchTo(w->mcxt);
	for (i = 0; i < target.nindexes; i++)
	{
		w->indexes[i] = index_open(target.indexes[i], RowExclusiveLock);
		w->infos[i] = BuildIndexInfo(w->indexes[i]);
		w->nkeys += w->infos[i]->ii_NumIndexAttrs;
		w->nindexes++;
	}
	w->pvalues = palloc(sizeof(Datum) * target.natts);
	w->pisnull = palloc(sizeof(bool) * target.natts);
	MemoryContextSwitchTo(old);
	return true;
}

/*
 * The index key values of the row in w->pvalues, index after index, into
 * keys/keynulls (w->nkeys entries).  With copy, values passed by reference
 * are copied into the current memory context.
 */
static void
index_keys(RkLogWriter *w, Datum *keys, bool *keynulls, bool copy)
{
	TupleDesc	desc = RelationGetDescr(w->part);
	int			n = 0;
	int			i,
				k;

	for (i = 0; i < w->nindexes; i++)
	{
		IndexInfo  *info = w->infos[i];

		for (k = 0; k < info->ii_NumIndexAttrs; k++, n++)
		{
			int			attno = info->ii_IndexAttrNumbers[k];
			Form_pg_attribute att = TupleDescAttr(desc, attno - 1);

			keynulls[n] = w->pisnull[attno - 1];
			keys[n] = w->pvalues[attno - 1];
			if (copy && !keynulls[n] && !att->attbyval)
				keys[n] = datumCopy(keys[n], false, att->attlen);
		}
	}
}

/* Insert the index entries of one new row at tid (keys from index_keys). */
static void
insert_index_entries(RkLogWriter *w, ItemPointer tid, Datum *keys,
					 bool *keynulls)
{
	int			n = 0;
	int			i;

	for (i = 0; i < w->nindexes; i++)
	{
		rk_index_insert(w->indexes[i], &keys[n], &keynulls[n], tid, w->part,
						w->infos[i]);
		n += w->infos[i]->ii_NumIndexAttrs;
	}
}

/* Add the row in w->pvalues to the batch; flush a full batch. */
static void
batch_row(RkLogWriter *w, TupleDesc desc)
{
	MemoryContext old;
	HeapTuple	tup;

	if (w->slots == NULL)
	{
		if (w->batchcxt == NULL)
			w->batchcxt = AllocSetContextCreate(w->mcxt, "rowkeeper audit batch",
												ALLOCSET_DEFAULT_SIZES);
		w->slots = MemoryContextAlloc(w->mcxt,
									  sizeof(TupleTableSlot *) * BATCH_ROWS);
	}
	/* slots are made as the batch first grows: a one-row statement makes one */
	if (w->nbatch == w->nslots)
	{
		old = MemoryContextSwitchTo(w->mcxt);
		w->slots[w->nslots++] = MakeSingleTupleTableSlot(desc, &TTSOpsHeapTuple);
		MemoryContextSwitchTo(old);
	}
	old = MemoryContextSwitchTo(w->batchcxt);
	tup = heap_form_tuple(desc, w->pvalues, w->pisnull);
	w->keys[w->nbatch] = palloc(sizeof(Datum) * w->nkeys);
	w->keynulls[w->nbatch] = palloc(sizeof(bool) * w->nkeys);
	index_keys(w, w->keys[w->nbatch], w->keynulls[w->nbatch], true);
	MemoryContextSwitchTo(old);
	/* the slot frees the tuple when cleared (the reset would, too) */
	ExecStoreHeapTuple(tup, w->slots[w->nbatch++], true);
	w->batchbytes += tup->t_len;
	if (w->nbatch == BATCH_ROWS || w->batchbytes >= BATCH_BYTES)
		writer_flush(w);
}

/*
 * The direct path: returns false, having written nothing, when the row must
 * take the SPI path after all.
 */
static bool
direct_insert(RkLogWriter *w, Datum *values, bool *isnull)
{
	TupleDesc	desc;
	HeapTuple	tup;
	int			c;

	if (!writer_attach(w, DatumGetTimestampTz(values[RKL_LOGGED_AT])))
		return false;
	desc = RelationGetDescr(w->part);
	for (c = 0; c < target.natts; c++)
		w->pisnull[c] = true;	/* dropped columns */
	for (c = 0; c < RKL_NCOLUMNS; c++)
	{
		int			attno = target.map[c];

		if (attno < 0)
			continue;			/* not in this (older) log */
		if (isnull[c] && TupleDescAttr(desc, attno)->attnotnull)
			return false;		/* the executor reports the violation */
		w->pvalues[attno] = values[c];
		w->pisnull[attno] = isnull[c];
	}
	last_log_id = nextval_internal(target.seq, false);
	w->pvalues[target.map[RKL_ID]] = Int64GetDatum(last_log_id);
	w->pisnull[target.map[RKL_ID]] = false;

	if (w->batching)
	{
		batch_row(w, desc);
		return true;
	}
	tup = heap_form_tuple(desc, w->pvalues, w->pisnull);
	heap_insert(w->part, tup, GetCurrentCommandId(true), HEAP_INSERT_SKIP_FSM,
				NULL);
	{
		Datum		keys[MAX_DIRECT_INDEXES * INDEX_MAX_KEYS];
		bool		keynulls[MAX_DIRECT_INDEXES * INDEX_MAX_KEYS];

		index_keys(w, keys, keynulls, false);
		insert_index_entries(w, &tup->t_self, keys, keynulls);
	}
	heap_freetuple(tup);
	return true;
}

/*
 * Write one log row (values/isnull in RkLogColumn order).
 */
void
rk_audit_log_write(RkLogWriter *w, Datum *values, bool *isnull)
{
	if (!direct_insert(w, values, isnull))
	{
		if (w->part != NULL)
			writer_flush(w);	/* rows keep the order of their ids */
		spi_insert(values, isnull, w->log_owner);
	}
}

/*
 * The id of the log row this backend wrote last (0: none yet).  With a
 * batching writer, of the last row handed to the writer; log_event() opens
 * a writer that does not batch.
 */
int64
rk_audit_log_last_id(void)
{
	return last_log_id;
}
