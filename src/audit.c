/*-------------------------------------------------------------------------
 *
 * audit.c
 *	  The audit trigger: rowkeeper.audit_trigger(), an AFTER ROW trigger
 *	  (INSERT, UPDATE, DELETE) and AFTER STATEMENT trigger (TRUNCATE) that
 *	  writes one row per change into rowkeeper.audit_log, in the same
 *	  transaction as the change.
 *
 *	  What one log row holds: transaction start time and full transaction
 *	  id; the audited table by OID and by schema and name (the partitioned
 *	  root for a partition, so history survives dump/restore and is found
 *	  under the name users know); the operation; the row key (primary key,
 *	  else replica identity index) as jsonb, and the old key when an UPDATE
 *	  changed it; the images: INSERT the new row, DELETE the old row, UPDATE
 *	  only the changed columns, old values in old_row and new values in
 *	  new_row; who: rowkeeper.actor, current_user, the role that issued the
 *	  statement (not hidden by SECURITY DEFINER), session_user, client
 *	  address, application_name, rowkeeper.request_id, rowkeeper.tenant.
 *
 *	  Options are trigger arguments written by rowkeeper.enable_audit():
 *	  exclude=<column> (never logged, not even as changed), redact=<column>
 *	  (logged as RK_REDACTED), skip_noop=true|false (an UPDATE that changes
 *	  no logged column writes nothing), require_actor=true|false.
 *
 *	  The log row is inserted through one SPI plan, prepared once per
 *	  backend and kept; it runs as the owner of rowkeeper.audit_log (as the
 *	  RI triggers switch user), so application roles need no privilege on
 *	  the log.  Everything that depends only on the table (column
 *	  conversions, options, key columns, names) is resolved once per trigger
 *	  per statement in flinfo->fn_extra, which the executor rebuilds for
 *	  every execution, so no relcache invalidation is needed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/xid8.h"

#include "compat.h"
#include "rowjson.h"
#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(audit_trigger);

/* Per-trigger, per-statement resolved configuration (lives in fn_extra). */
typedef struct AuditConfig
{
	Oid			relid;			/* relation it was resolved for */
	Oid			tgoid;			/* trigger it was resolved for */
	int			natts;
	bool	   *logged;			/* per attribute: appears in images */
	bool	   *redacted;		/* per attribute: value replaced */
	bool	   *is_key;			/* per attribute: part of the row key */
	RkJsonColumn *cols;			/* per attribute: jsonb conversion */
	bool		skip_noop;
	bool		require_actor;
	Oid			table_oid;		/* root of a partition tree, else relid */
	text	   *schema_name;
	text	   *table_name;
	Oid			log_owner;		/* owner of rowkeeper.audit_log */
	Oid			cached_userid;	/* last current_user / outer user seen */
	text	   *cached_username;
	Oid			cached_outerid;
	text	   *cached_outername;
} AuditConfig;

#define AUDIT_NPARAMS 18

/* Backend-lifetime state: the kept insert plan and session facts. */
static SPIPlanPtr audit_insert_plan = NULL;
static bool session_facts_ready = false;
static Oid	session_user_cached = InvalidOid;
static text *session_user_name = NULL;
static Datum client_addr = (Datum) 0;
static bool client_addr_null = true;

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
audit_log_owner(void)
{
	Oid			nsp = get_namespace_oid("rowkeeper", false);
	Oid			logrel = get_relname_relid("audit_log", nsp);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(logrel))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"rowkeeper.audit_log\" does not exist"),
				 errhint("Reinstall the rowkeeper extension.")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(logrel));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", logrel);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* Resolve everything that depends only on the table and the trigger. */
static void
resolve_audit_config(AuditConfig *cfg, TriggerData *trigdata,
					 MemoryContext mcxt)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	MemoryContext old = MemoryContextSwitchTo(mcxt);
	int			i;

	cfg->relid = RelationGetRelid(rel);
	cfg->tgoid = trigdata->tg_trigger->tgoid;
	cfg->natts = tupdesc->natts;
	cfg->logged = palloc(sizeof(bool) * cfg->natts);
	cfg->redacted = palloc0(sizeof(bool) * cfg->natts);
	cfg->is_key = palloc0(sizeof(bool) * cfg->natts);
	cfg->cols = palloc0(sizeof(RkJsonColumn) * cfg->natts);
	cfg->skip_noop = true;
	cfg->require_actor = false;

	for (i = 0; i < cfg->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		cfg->logged[i] = !att->attisdropped;
		if (!att->attisdropped)
			rk_json_column_init(&cfg->cols[i], att->atttypid, mcxt);
	}
	parse_audit_options(cfg, trigdata->tg_trigger, rel);
	if (!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		resolve_key(cfg, rel);

	cfg->table_oid = audit_root(rel);
	cfg->schema_name = cstring_to_text(get_namespace_name(get_rel_namespace(cfg->table_oid)));
	cfg->table_name = cstring_to_text(get_rel_name(cfg->table_oid));
	cfg->log_owner = audit_log_owner();
	cfg->cached_userid = InvalidOid;
	cfg->cached_outerid = InvalidOid;
	MemoryContextSwitchTo(old);
}

static AuditConfig *
get_audit_config(FunctionCallInfo fcinfo, TriggerData *trigdata)
{
	AuditConfig *cfg = (AuditConfig *) fcinfo->flinfo->fn_extra;

	if (cfg == NULL ||
		cfg->relid != RelationGetRelid(trigdata->tg_relation) ||
		cfg->tgoid != trigdata->tg_trigger->tgoid)
	{
		cfg = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
									 sizeof(AuditConfig));
		resolve_audit_config(cfg, trigdata, fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = cfg;
	}
	return cfg;
}

/* Role name as text, cached in cfg for the common case of one user. */
static text *
role_name(AuditConfig *cfg, Oid roleid, Oid *cached_id, text **cached_name,
		  MemoryContext mcxt)
{
	if (*cached_id != roleid)
	{
		MemoryContext old = MemoryContextSwitchTo(mcxt);

		*cached_name = cstring_to_text(GetUserNameFromId(roleid, false));
		*cached_id = roleid;
		MemoryContextSwitchTo(old);
	}
	return *cached_name;
}

/* session_user and client address: fixed for the life of the backend. */
static void
load_session_facts(void)
{
	MemoryContext old;

	if (session_facts_ready && session_user_cached == GetSessionUserId())
		return;

	old = MemoryContextSwitchTo(TopMemoryContext);
	session_user_cached = GetSessionUserId();
	session_user_name = cstring_to_text(GetUserNameFromId(session_user_cached, false));
	{
		LOCAL_FCINFO(fc, 0);

		InitFunctionCallInfoData(*fc, NULL, 0, InvalidOid, NULL, NULL);
		client_addr = inet_client_addr(fc);
		client_addr_null = fc->isnull;
	}
	session_facts_ready = true;
	MemoryContextSwitchTo(old);
}

/*
 * Image of the logged columns of a row as a jsonb object.  only, when not
 * NULL, restricts it to the attributes marked true there; keys_only builds
 * the row key instead (key columns, never redacted).
 */
static Jsonb *
row_image(AuditConfig *cfg, TupleTableSlot *slot, const bool *only,
		  bool keys_only)
{
	JsonbParseState *state = NULL;
	TupleDesc	tupdesc = slot->tts_tupleDescriptor;
	JsonbValue *res;
	int			i;

	slot_getallattrs(slot);
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < cfg->natts; i++)
	{
		if (keys_only ? !cfg->is_key[i] : !cfg->logged[i])
			continue;
		if (only != NULL && !only[i])
			continue;
		rk_json_push_key(&state, NameStr(TupleDescAttr(tupdesc, i)->attname));
		if (!keys_only && cfg->redacted[i])
			rk_json_push_string(&state, RK_REDACTED);
		else
			rk_json_push_value(&state, &cfg->cols[i],
							   slot->tts_values[i], slot->tts_isnull[i]);
	}
	res = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
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

/* Prepare (once per backend) the INSERT into the log. */
static SPIPlanPtr
insert_plan(void)
{
	static Oid	argtypes[AUDIT_NPARAMS] = {
		TIMESTAMPTZOID, XID8OID, OIDOID, TEXTOID, TEXTOID, TEXTOID,
		JSONBOID, JSONBOID, JSONBOID, JSONBOID,
		TEXTOID, TEXTOID, TEXTOID, TEXTOID, INETOID, TEXTOID, TEXTOID, TEXTOID
	};
	SPIPlanPtr	plan;

	if (audit_insert_plan != NULL)
		return audit_insert_plan;

	plan = SPI_prepare("INSERT INTO rowkeeper.audit_log "
					   "(logged_at, txid, table_oid, schema_name, table_name, op, "
					   " row_key, old_key, old_row, new_row, "
					   " actor, db_user, role_user, session_user_name, client_addr, "
					   " application_name, request_id, tenant) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
					   "        $11, $12, $13, $14, $15, $16, $17, $18)",
					   AUDIT_NPARAMS, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for the audit insert: %s",
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed for the audit insert");
	audit_insert_plan = plan;
	return plan;
}

/* Set parameter i to a text value, or NULL. */
static inline void
param_text(Datum *values, char *nulls, int i, const char *s)
{
	if (s == NULL)
		nulls[i] = 'n';
	else
		values[i] = PointerGetDatum(cstring_to_text(s));
}

/* Set parameter i to a jsonb value, or NULL. */
static inline void
param_jsonb(Datum *values, char *nulls, int i, Jsonb *jb)
{
	if (jb == NULL)
		nulls[i] = 'n';
	else
		values[i] = JsonbPGetDatum(jb);
}

/*
 * Write one log row.  Runs the kept plan as the log's owner; the caller's
 * identities were captured before the switch.
 */
static void
write_log_row(AuditConfig *cfg, const char *op, Jsonb *row_key,
			  Jsonb *old_key, Jsonb *old_row, Jsonb *new_row,
			  MemoryContext mcxt)
{
	Datum		values[AUDIT_NPARAMS];
	char		nulls[AUDIT_NPARAMS];
	Oid			save_userid;
	int			save_sec;
	int			rc;

	memset(nulls, ' ', sizeof(nulls));
	load_session_facts();

	values[0] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	values[1] = FullTransactionIdGetDatum(GetTopFullTransactionId());
	values[2] = ObjectIdGetDatum(cfg->table_oid);
	values[3] = PointerGetDatum(cfg->schema_name);
	values[4] = PointerGetDatum(cfg->table_name);
	values[5] = PointerGetDatum(cstring_to_text(op));
	param_jsonb(values, nulls, 6, row_key);
	param_jsonb(values, nulls, 7, old_key);
	param_jsonb(values, nulls, 8, old_row);
	param_jsonb(values, nulls, 9, new_row);
	param_text(values, nulls, 10, rk_context_actor());
	values[11] = PointerGetDatum(role_name(cfg, GetUserId(), &cfg->cached_userid,
										   &cfg->cached_username, mcxt));
	values[12] = PointerGetDatum(role_name(cfg, GetOuterUserId(), &cfg->cached_outerid,
										   &cfg->cached_outername, mcxt));
	values[13] = PointerGetDatum(session_user_name);
	values[14] = client_addr;
	if (client_addr_null)
		nulls[14] = 'n';
	param_text(values, nulls, 15,
			   (application_name && application_name[0]) ? application_name : NULL);
	param_text(values, nulls, 16, rk_context_request_id());
	param_text(values, nulls, 17, rk_context_tenant());

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(cfg->log_owner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_plan(insert_plan(), values, nulls, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "audit insert failed: %s", SPI_result_code_string(rc));
	if (SPI_finish() != SPI_OK_FINISH)
		elog(ERROR, "SPI_finish failed");

	SetUserIdAndSecContext(save_userid, save_sec);
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

/*
 * rowkeeper.audit_trigger(): see the file header.
 */
Datum
audit_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent ev;
	AuditConfig *cfg;
	MemoryContext mcxt;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rowkeeper.audit_trigger() must be called as a trigger")));
	ev = trigdata->tg_event;
	if (!TRIGGER_FIRED_AFTER(ev) ||
		(TRIGGER_FIRED_BY_TRUNCATE(ev) ? TRIGGER_FIRED_FOR_ROW(ev)
		 : !TRIGGER_FIRED_FOR_ROW(ev)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rowkeeper.audit_trigger() must be fired AFTER ... FOR EACH ROW, or AFTER TRUNCATE FOR EACH STATEMENT"),
				 errhint("Create the trigger with rowkeeper.enable_audit().")));

	cfg = get_audit_config(fcinfo, trigdata);
	mcxt = fcinfo->flinfo->fn_mcxt;
	check_actor(cfg, trigdata->tg_relation);

	if (TRIGGER_FIRED_BY_TRUNCATE(ev))
		write_log_row(cfg, "TRUNCATE", NULL, NULL, NULL, NULL, mcxt);
	else if (TRIGGER_FIRED_BY_INSERT(ev))
	{
		TupleTableSlot *slot = trigdata->tg_trigslot;

		write_log_row(cfg, "INSERT", row_image(cfg, slot, NULL, true),
					  NULL, NULL, row_image(cfg, slot, NULL, false), mcxt);
	}
	else if (TRIGGER_FIRED_BY_DELETE(ev))
	{
		TupleTableSlot *slot = trigdata->tg_trigslot;

		write_log_row(cfg, "DELETE", row_image(cfg, slot, NULL, true),
					  NULL, row_image(cfg, slot, NULL, false), NULL, mcxt);
	}
	else
	{
		TupleTableSlot *oldslot = trigdata->tg_trigslot;
		TupleTableSlot *newslot = trigdata->tg_newslot;
		bool	   *changed = palloc(sizeof(bool) * cfg->natts);
		bool		key_changed;
		int			n;

		n = changed_columns(cfg, oldslot, newslot, changed, &key_changed);
		if (n == 0 && !key_changed && cfg->skip_noop)
			return PointerGetDatum(NULL);
		write_log_row(cfg, "UPDATE",
					  row_image(cfg, newslot, NULL, true),
					  key_changed ? row_image(cfg, oldslot, NULL, true) : NULL,
					  row_image(cfg, oldslot, changed, false),
					  row_image(cfg, newslot, changed, false), mcxt);
	}

	return PointerGetDatum(NULL);
}
