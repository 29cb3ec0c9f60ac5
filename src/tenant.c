/*-------------------------------------------------------------------------
 *
 * tenant.c
 *	  Tenant isolation, the C half: the tenant the current transaction may
 *	  see (rowkeeper.current_tenant() and its typed variants, called from
 *	  the row-level security policies and the tenant column's DEFAULT),
 *	  the trigger that keeps the tenant column immutable, and the
 *	  unforgeable mode (signed tenant tokens).  The SQL half
 *	  (enable_tenant_isolation() and friends) is src/sql/30_tenant.sql.
 *
 *	  Invariants:
 *	  - Fail closed.  When no tenant is set (never set, RESET, '' or the
 *		transaction that set it has ended: a custom GUC then reads as ''),
 *		every current_tenant*() call raises an error; it never returns NULL
 *		and never anything that could match all rows.  A value that does
 *		not parse as the column's type is an error that names the setting,
 *		not a cast failure deep in a query.
 *	  - Cheap.  The policies call current_tenant_<type>() without a
 *		subquery (Citus rejects sublinks in policies).  The function is
 *		STABLE, so as an index qualifier it is evaluated once per scan; as a
 *		filter it runs per row.  Either way a call costs one strcmp against
 *		the value parsed last (a backend-wide cache, see TenantValues) plus,
 *		for uuid, a 16-byte copy.
 *	  - Unforgeable mode.  With rowkeeper.tenant_mode = token (a superuser
 *		setting), the check hook of rowkeeper.tenant refuses every way of
 *		setting a non-empty tenant (SET, set_config(), set_context(),
 *		ALTER ROLE/DATABASE ... SET, PGOPTIONS, a function's SET clause)
 *		except rowkeeper.set_tenant_token(), which sets it only after
 *		verifying an HMAC-SHA256 signature made with rowkeeper.tenant_key
 *		(a superuser-only setting, invisible to other roles) and an expiry.
 *		Clearing the tenant is always allowed: it can only take access
 *		away.  Parallel workers restoring their leader's state are let
 *		through: the value comes from a leader that passed the check, and so
 *		is the resend of the value in effect to Citus workers (citus.c).
 *	  - The key is only as secret as the library is early.  Before a
 *		backend loads rowkeeper, a rowkeeper.tenant_key given in
 *		postgresql.conf (or ALTER SYSTEM/DATABASE/ROLE) sits in a
 *		placeholder that any role can read with SHOW or current_setting():
 *		PostgreSQL knows nothing of GUC_SUPERUSER_ONLY until the variable is
 *		defined.  So a key that was waiting in a placeholder when the library
 *		was loaded on first use (not from shared_preload_libraries or
 *		session_preload_libraries) is refused: no token is signed or
 *		verified with it, and the error says to preload rowkeeper.
 *	  - The key never comes from a catalog.  ALTER DATABASE/ROLE ... SET
 *		and a function's SET clause store it in pg_db_role_setting or
 *		pg_proc, which every role can read: the check hook of
 *		rowkeeper.tenant_key refuses those sources (storing it while the
 *		library is loaded, applying it at connection time otherwise), so a
 *		key there is never used.  The safe places are postgresql.conf (or
 *		a file it includes) and ALTER SYSTEM.  preflight() fails on a key
 *		found in either catalog.
 *
 *	  Token format (all ASCII):  v1.<expires>.<tenant>.<signature>
 *		expires	  Unix time in seconds (decimal) after which it is refused
 *		tenant	  the tenant value, any characters (dots included)
 *		signature lower-case hex HMAC-SHA256 over "v1.<expires>.<tenant>"
 *				  with the bytes of rowkeeper.tenant_key as the key
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/parallel.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#include "utils/varlena.h"

#include "compat.h"
#include "guc.h"
#include "rowkeeper.h"

#ifdef RK_HAVE_HMAC
#include "common/hmac.h"
#endif

PG_FUNCTION_INFO_V1(current_tenant);
PG_FUNCTION_INFO_V1(current_tenant_uuid);
PG_FUNCTION_INFO_V1(current_tenant_bigint);
PG_FUNCTION_INFO_V1(current_tenant_int);
PG_FUNCTION_INFO_V1(tenant_immutable_trigger);
PG_FUNCTION_INFO_V1(set_tenant_token);
PG_FUNCTION_INFO_V1(sign_tenant_token);

#define RK_TOKEN_VERSION	"v1."
#define RK_HMAC_LEN			32	/* SHA-256 */
#define RK_MIN_KEY_LEN		32

/* ----------------------------------------------------------------
 * GUCs: rowkeeper.tenant_mode, rowkeeper.tenant_key
 * ----------------------------------------------------------------
 */

/* The variables and rowkeeper.tenant_mode's values are in guc.h / guc.c. */

/*
 * True only while set_tenant_token() sets rowkeeper.tenant after verifying
 * a token; the check hook lets that one assignment through.
 */
static bool rk_token_verified_set = false;

/*
 * Whether rowkeeper.tenant_mode got a value from anywhere but its boot
 * value while being defined; see rk_tenant_mode_defined().
 */
static bool rk_tenant_mode_applied = false;

/*
 * Whether rowkeeper.tenant_key was readable by any role of this backend
 * before the library was loaded; see rk_tenant_key_before_define().
 */
static bool rk_tenant_key_exposed = false;

static bool rk_listed_library(const char *list);

bool
rk_tenant_mode_check_hook(int *newval, void **extra, GucSource source)
{
	if (source != PGC_S_DEFAULT)
		rk_tenant_mode_applied = true;
	return true;
}

/*
 * Whether a non-empty rowkeeper.tenant_key from ALTER DATABASE/ROLE ... SET
 * was refused in this backend; see rk_tenant_key_check_hook().
 */
static bool rk_tenant_key_stored_refused = false;

/*
 * Is source a place where the value is stored in a catalog every role can
 * read?  pg_db_role_setting (ALTER DATABASE/ROLE ... SET, applied at
 * connection time as PGC_S_GLOBAL .. PGC_S_DATABASE_USER) is readable by
 * PUBLIC, and so is pg_proc.proconfig (a function's SET clause).  Values
 * on their way into either are validated as PGC_S_TEST.  postgresql.conf
 * and ALTER SYSTEM (postgresql.auto.conf) are PGC_S_FILE: files only the
 * server's OS user reads.
 */
static bool
rk_source_is_catalog(GucSource source)
{
	return source == PGC_S_GLOBAL || source == PGC_S_DATABASE ||
		source == PGC_S_USER || source == PGC_S_DATABASE_USER ||
		source == PGC_S_TEST;
}

/*
 * The key must be empty (no token can verify) or long enough to matter,
 * and must not come from (or go into) a catalog that every role can read:
 * anyone could copy it from there and sign tokens for any tenant.  Such a
 * key is never used: storing it is refused while the library is loaded;
 * one stored before is refused when a session applies it (a WARNING then,
 * and require_key() says why no token verifies).  Every refusal sets its
 * own message: PostgreSQL's default one would print the key.
 */
bool
rk_tenant_key_check_hook(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (rk_source_is_catalog(source))
	{
		if (source != PGC_S_TEST)
			rk_tenant_key_stored_refused = true;
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("rowkeeper.tenant_key cannot come from ALTER DATABASE/ROLE ... SET or a function's SET clause");
		GUC_check_errdetail("Those settings are stored in pg_db_role_setting and pg_proc, which every role can read, so anyone could sign tenant tokens with the key.");
		if (source == PGC_S_TEST)
			GUC_check_errhint("Set the key in postgresql.conf (or a file it includes that only the server can read) or with ALTER SYSTEM.");
		else
			GUC_check_errhint("Remove the stored key (ALTER DATABASE/ROLE ... RESET rowkeeper.tenant_key) and set a new one in postgresql.conf or with ALTER SYSTEM: the stored one has been readable.");
		return false;
	}
	if (strlen(*newval) >= RK_MIN_KEY_LEN)
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errmsg("rowkeeper.tenant_key must be at least %d bytes long",
					 RK_MIN_KEY_LEN);
	GUC_check_errhint("Use a random key, e.g. the output of: openssl rand -hex 32");
	return false;
}

/*
 * Check hook of rowkeeper.tenant (defined in context.c).  In token mode a
 * non-empty tenant may only come from set_tenant_token() (or be copied
 * into a parallel worker from its leader).
 */
bool
rk_tenant_check_hook(char **newval, void **extra, GucSource source)
{
	if (rk_tenant_mode != RK_TENANT_MODE_TOKEN)
		return true;
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (rk_token_verified_set || InitializingParallelWorker || rk_citus_resending)
		return true;

	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("rowkeeper.tenant can only be set with rowkeeper.set_tenant_token() when rowkeeper.tenant_mode is \"token\"");
	GUC_check_errdetail("SET, set_config(), rowkeeper.set_context(), ALTER ROLE/DATABASE ... SET and connection options cannot choose a tenant in this mode.");
	GUC_check_errhint("Call rowkeeper.set_tenant_token() with a token signed by your application's tenant service.");
	return false;
}

/*
 * After rowkeeper.tenant_mode is defined (guc.c, before rowkeeper.tenant,
 * so that a value of rowkeeper.tenant given before the library was loaded
 * is checked against the mode taken from the configuration).
 *
 * A value given for rowkeeper.tenant_mode before the library loaded
 * (postgresql.conf, ALTER SYSTEM/DATABASE/ROLE, PGOPTIONS, SET) waits in a
 * placeholder and is applied when the variable is defined, with the
 * privileges of whoever gave it.  A connection option (PGOPTIONS) from a
 * role that may not set it replaces the configuration file's value in the
 * placeholder and is then refused, which would leave the boot value,
 * context mode, where the configuration said token: a way out of token
 * mode.  So when a value was waiting but none was applied, the session
 * fails closed: token mode.
 */
void
rk_tenant_mode_defined(bool value_waiting)
{
	if (value_waiting && !rk_tenant_mode_applied)
	{
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("rowkeeper.tenant_mode was given by a role that may not set it: this session uses token mode"),
				 errhint("Only superusers can choose the tenant mode; set it in postgresql.conf or with ALTER SYSTEM / ALTER DATABASE.")));
		SetConfigOption("rowkeeper.tenant_mode", "token", PGC_SUSET,
						PGC_S_OVERRIDE);
	}
}

/*
 * Before rowkeeper.tenant_key is defined (guc.c): a key waiting in a
 * placeholder of a backend that loads the library late has been readable
 * by the session's role (and by every other role's sessions the same
 * way): refuse to use it.  Preloaded, the variable is defined before any
 * query runs.
 */
void
rk_tenant_key_before_define(void)
{
	const char *waiting = GetConfigOption("rowkeeper.tenant_key", true, false);

	if (waiting != NULL && waiting[0] != '\0' &&
		!process_shared_preload_libraries_in_progress &&
		!rk_listed_library(GetConfigOption("session_preload_libraries", true, false)))
		rk_tenant_key_exposed = true;
}

/*
 * Whether a library list setting (e.g. session_preload_libraries) names
 * rowkeeper ("rowkeeper" or ".../rowkeeper", with or without ".so").
 */
static bool
rk_listed_library(const char *list)
{
	char	   *copy;
	List	   *names;
	ListCell   *lc;
	bool		found = false;

	if (list == NULL || list[0] == '\0')
		return false;
	copy = pstrdup(list);
	if (!SplitDirectoriesString(copy, ',', &names))
		return false;
	foreach(lc, names)
	{
		const char *name = (const char *) lfirst(lc);
		const char *base = strrchr(name, '/');

		base = base ? base + 1 : name;
		if (strcmp(base, "rowkeeper") == 0 || strcmp(base, "rowkeeper.so") == 0)
			found = true;
	}
	list_free_deep(names);
	pfree(copy);
	return found;
}

/* ----------------------------------------------------------------
 * current_tenant()
 * ----------------------------------------------------------------
 */

/* The error for "no tenant": the one way rowkeeper fails closed. */
static void
no_tenant_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("no tenant is set"),
			 errdetail("Tables under tenant isolation can only be read and written for the current tenant (rowkeeper.tenant), which is empty."),
			 rk_tenant_mode == RK_TENANT_MODE_TOKEN ?
			 errhint("Call rowkeeper.set_tenant_token() in the same transaction, after BEGIN.") :
			 errhint("Call rowkeeper.set_context(tenant => ...) in the same transaction, after BEGIN.")));
}

/* The current tenant, or an error. */
static const char *
require_tenant(void)
{
	const char *tenant = rk_context_tenant();

	if (tenant == NULL)
		no_tenant_error();
	return tenant;
}

static void
bad_tenant_value(const char *tenant, const char *typname, const char *example)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("rowkeeper.tenant value \"%s\" is not a valid %s", tenant,
					typname),
			 errdetail("The tenant is compared with a tenant column of type %s.",
					   typname),
			 errhint("Set the tenant to a value of type %s, e.g. '%s'.",
					 typname, example)));
}

/* Decimal integer: optional sign, digits, nothing else; false if not. */
static bool
parse_int64_strict(const char *s, int64 *result)
{
	bool		neg = false;
	uint64		acc = 0;
	uint64		limit;

	if (*s == '-' || *s == '+')
		neg = (*s++ == '-');
	if (*s == '\0')
		return false;
	limit = neg ? (uint64) PG_INT64_MAX + 1 : (uint64) PG_INT64_MAX;
	for (; *s; s++)
	{
		if (*s < '0' || *s > '9')
			return false;
		if (acc > (limit - (uint64) (*s - '0')) / 10)
			return false;
		acc = acc * 10 + (uint64) (*s - '0');
	}
	if (neg)
		*result = (acc == (uint64) PG_INT64_MAX + 1) ? PG_INT64_MIN : -(int64) acc;
	else
		*result = (int64) acc;
	return true;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * A uuid as uuid_in accepts it: 32 hex digits, optionally in braces, with
 * an optional hyphen after any group of four digits but the last.
 */
static bool
parse_uuid_strict(const char *s, pg_uuid_t *uuid)
{
	bool		braces = (*s == '{');
	int			i;

	if (braces)
		s++;
	for (i = 0; i < UUID_LEN; i++)
	{
		int			hi = hex_value(s[0]);
		int			lo = (hi < 0) ? -1 : hex_value(s[1]);

		if (lo < 0)
			return false;
		uuid->data[i] = (unsigned char) (hi * 16 + lo);
		s += 2;
		if (*s == '-' && i % 2 == 1 && i < UUID_LEN - 1)
			s++;
	}
	if (braces && *s++ != '}')
		return false;
	return *s == '\0';
}

/*
 * The tenant as each column type, parsed from the GUC text at most once
 * per value: a backend-wide cache, so that the several call sites of one
 * statement (policies, WITH CHECK, the column default) and every later
 * statement share one parse.  Keyed on a copy of the text; a new value of
 * rowkeeper.tenant (any SET, set_context(), a token, the end of the
 * transaction) differs from it or is the same tenant.  Each type is parsed
 * lazily, and a value that does not parse is never cached as valid: every
 * call raises again.
 */
typedef struct TenantValues
{
	char	   *raw;			/* copy of the GUC text, in TopMemoryContext */
	bool		uuid_ok;		/* uuid parsed and valid */
	bool		int8_ok;		/* int8 parsed and valid */
	pg_uuid_t	uuid;
	int64		int8;
} TenantValues;

static TenantValues tenant_values = {NULL, false, false, {{0}}, 0};

/* The cache entry for the current tenant (or an error if none is set). */
static TenantValues *
current_tenant_values(void)
{
	const char *tenant = require_tenant();

	if (tenant_values.raw == NULL || strcmp(tenant_values.raw, tenant) != 0)
	{
		char	   *copy = MemoryContextStrdup(TopMemoryContext, tenant);

		if (tenant_values.raw != NULL)
			pfree(tenant_values.raw);
		tenant_values.raw = copy;
		tenant_values.uuid_ok = false;
		tenant_values.int8_ok = false;
	}
	return &tenant_values;
}

/* The tenant as int8, or the 22P02 error naming typname. */
static int64
current_tenant_int8(const char *typname)
{
	TenantValues *tv = current_tenant_values();

	if (!tv->int8_ok)
	{
		if (!parse_int64_strict(tv->raw, &tv->int8))
			bad_tenant_value(tv->raw, typname, "42");
		tv->int8_ok = true;
	}
	return tv->int8;
}

/*
 * rowkeeper.current_tenant() RETURNS text: the current tenant, or an error
 * when none is set.
 */
Datum
current_tenant(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(require_tenant()));
}

/*
 * rowkeeper.current_tenant_uuid(), _bigint(), _int(): the current tenant
 * as the type of a tenant column, so that the policy compares column =
 * value of the same type and the column's index is used.
 */
Datum
current_tenant_uuid(PG_FUNCTION_ARGS)
{
	TenantValues *tv = current_tenant_values();
	pg_uuid_t  *result;

	if (!tv->uuid_ok)
	{
		if (!parse_uuid_strict(tv->raw, &tv->uuid))
			bad_tenant_value(tv->raw, "uuid",
							 "0b7e2a6c-3f1d-4a57-9c7e-2d6f1a8b4c30");
		tv->uuid_ok = true;
	}
	result = palloc(sizeof(pg_uuid_t));
	memcpy(result, &tv->uuid, sizeof(pg_uuid_t));
	PG_RETURN_UUID_P(result);
}

Datum
current_tenant_bigint(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(current_tenant_int8("bigint"));
}

Datum
current_tenant_int(PG_FUNCTION_ARGS)
{
	int64		value = current_tenant_int8("integer");

	if (value < PG_INT32_MIN || value > PG_INT32_MAX)
		bad_tenant_value(tenant_values.raw, "integer", "42");
	PG_RETURN_INT32((int32) value);
}

/* ----------------------------------------------------------------
 * The tenant column never changes
 * ----------------------------------------------------------------
 */

/*
 * rowkeeper.tenant_immutable_trigger(): BEFORE UPDATE OF <column> FOR EACH
 * ROW, argument: the column name.  It fires only when the UPDATE's SET
 * list names the column, so ordinary UPDATEs do not pay for it.  It also
 * holds for roles with BYPASSRLS, which the policies do not constrain.
 */
Datum
tenant_immutable_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	int			attnum;
	Datum		oldval,
				newval;
	bool		oldnull,
				newnull;
	Form_pg_attribute att;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rowkeeper.tenant_immutable_trigger() must be called as a trigger"),
				 errhint("Use rowkeeper.enable_tenant_isolation() to attach it.")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ||
		trigdata->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("rowkeeper.tenant_immutable_trigger() must fire BEFORE UPDATE FOR EACH ROW with the column name as its argument"),
				 errhint("Use rowkeeper.enable_tenant_isolation() to attach it.")));

	tupdesc = RelationGetDescr(trigdata->tg_relation);
	attnum = SPI_fnumber(tupdesc, trigdata->tg_trigger->tgargs[0]);
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of table \"%s\" does not exist",
						trigdata->tg_trigger->tgargs[0],
						RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Call rowkeeper.enable_tenant_isolation() again, or disable_tenant_isolation().")));

	att = TupleDescAttr(tupdesc, attnum - 1);
	oldval = heap_getattr(trigdata->tg_trigtuple, attnum, tupdesc, &oldnull);
	newval = heap_getattr(trigdata->tg_newtuple, attnum, tupdesc, &newnull);
	if (oldnull != newnull ||
		(!oldnull && !datumIsEqual(oldval, newval, att->attbyval, att->attlen)))
		ereport(ERROR,
				(errcode(ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION),
				 errmsg("the tenant column \"%s\" of table \"%s\" cannot be changed",
						NameStr(att->attname),
						RelationGetRelationName(trigdata->tg_relation)),
				 errdetail("Rows never move between tenants (rowkeeper tenant isolation)."),
				 errhint("To move data between tenants, insert a copy for the new tenant and delete the original.")));

	return PointerGetDatum(trigdata->tg_newtuple);
}

/* ----------------------------------------------------------------
 * Tenant tokens
 * ----------------------------------------------------------------
 */

/* The configured key, or an error: without one no token verifies. */
static const char *
require_key(void)
{
	if (rk_tenant_key_exposed)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rowkeeper.tenant_key is not protected: rowkeeper is not preloaded"),
				 errdetail("Until a backend loads rowkeeper, the key from the configuration is a placeholder that any role can read with SHOW or current_setting(), so tokens signed with it could be forged."),
				 errhint("Add rowkeeper to session_preload_libraries (or shared_preload_libraries), then replace rowkeeper.tenant_key: the current one may have been read.")));
	if ((rk_tenant_key == NULL || rk_tenant_key[0] == '\0') &&
		rk_tenant_key_stored_refused)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rowkeeper.tenant_key from ALTER DATABASE/ROLE ... SET was refused"),
				 errdetail("That setting is stored in pg_db_role_setting, which every role can read, so tokens signed with it could be forged; this session has no other key."),
				 errhint("As a superuser: ALTER DATABASE/ROLE ... RESET rowkeeper.tenant_key; then set a new key with ALTER SYSTEM SET rowkeeper.tenant_key = '<at least %d random bytes>'; SELECT pg_reload_conf();",
						 RK_MIN_KEY_LEN)));
	if (rk_tenant_key == NULL || rk_tenant_key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no tenant token key is configured"),
				 errdetail("rowkeeper.tenant_key is empty, so no tenant token can be signed or verified."),
				 errhint("As a superuser: ALTER SYSTEM SET rowkeeper.tenant_key = '<at least %d random bytes>'; SELECT pg_reload_conf();",
						 RK_MIN_KEY_LEN)));
	return rk_tenant_key;
}

#ifdef RK_HAVE_HMAC
/* Lower-case hex HMAC-SHA256 of msg[0..len) under key, into hex[65]. */
static void
hmac_sha256_hex(const char *key, const char *msg, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	uint8		mac[RK_HMAC_LEN];
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	int			i;

	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (pg_hmac_init(ctx, (const uint8 *) key, strlen(key)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) msg, len) < 0 ||
		pg_hmac_final(ctx, mac, sizeof(mac)) < 0)
	{
		const char *why = pg_hmac_error(ctx);

		pg_hmac_free(ctx);
		elog(ERROR, "could not compute HMAC-SHA256: %s", why);
	}
	pg_hmac_free(ctx);
	for (i = 0; i < RK_HMAC_LEN; i++)
	{
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 0x0f];
	}
	hex[2 * RK_HMAC_LEN] = '\0';
}
#endif

/* Compare two equally long strings in time independent of their content. */
static bool
equal_constant_time(const char *a, const char *b, size_t len)
{
	unsigned char diff = 0;
	size_t		i;

	for (i = 0; i < len; i++)
		diff |= (unsigned char) a[i] ^ (unsigned char) b[i];
	return diff == 0;
}

static void
malformed_token(const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("malformed tenant token"),
			 errdetail("%s  A token reads v1.<expires>.<tenant>.<signature>.", why),
			 errhint("Pass the token exactly as the tenant service issued it.")));
}

/* Current wall-clock time in Unix seconds. */
static int64
unix_now(void)
{
	return (int64) timestamptz_to_time_t(GetCurrentTimestamp());
}

/*
 * rowkeeper.set_tenant_token(token text): verify the token and set the
 * tenant it carries for the rest of the transaction.  Any failure raises
 * before anything is set, so the context stays as it was.
 */
Datum
set_tenant_token(PG_FUNCTION_ARGS)
{
#ifdef RK_HAVE_HMAC
	char	   *token;
	size_t		toklen;
	const char *key;
	char	   *p,
			   *expires_end,
			   *last_dot;
	char	   *tenant;
	char		expect[2 * RK_HMAC_LEN + 1];
	int64		expires;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rowkeeper.set_tenant_token(): the token must not be NULL")));
	token = text_to_cstring(PG_GETARG_TEXT_PP(0));
	toklen = strlen(token);

	if (strncmp(token, RK_TOKEN_VERSION, strlen(RK_TOKEN_VERSION)) != 0)
		malformed_token("It does not start with \"v1.\".");
	p = token + strlen(RK_TOKEN_VERSION);
	expires_end = strchr(p, '.');
	last_dot = strrchr(token, '.');
	if (expires_end == NULL || last_dot == NULL || last_dot <= expires_end)
		malformed_token("It has fewer than four dot-separated parts.");
	if (strlen(last_dot + 1) != 2 * RK_HMAC_LEN)
		malformed_token("The signature is not 64 hex digits.");
	*expires_end = '\0';
	if (!parse_int64_strict(p, &expires) || expires <= 0)
		malformed_token("The expiry is not a positive number of seconds.");
	*expires_end = '.';
	tenant = pnstrdup(expires_end + 1, last_dot - (expires_end + 1));
	if (tenant[0] == '\0')
		malformed_token("The tenant is empty.");

	key = require_key();
	hmac_sha256_hex(key, token, last_dot - token, expect);
	if (!equal_constant_time(expect, last_dot + 1, 2 * RK_HMAC_LEN))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("invalid tenant token signature"),
				 errdetail("The token was altered, or signed with another key than rowkeeper.tenant_key."),
				 errhint("Request a new token from the tenant service.")));
	if (expires <= unix_now())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("tenant token has expired"),
				 errdetail("It expired at %s.",
						   timestamptz_to_str(time_t_to_timestamptz((pg_time_t) expires))),
				 errhint("Request a new token from the tenant service.")));

	if (!IsTransactionBlock())
		ereport(WARNING,
				(errcode(ERRCODE_NO_ACTIVE_SQL_TRANSACTION),
				 errmsg("rowkeeper.set_tenant_token() outside a transaction block lasts only until the end of this statement"),
				 errhint("Call it after BEGIN, in the same transaction as the statements it describes.")));

	rk_token_verified_set = true;
	PG_TRY();
	{
		(void) set_config_option("rowkeeper.tenant", tenant,
								 superuser() ? PGC_SUSET : PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL,
								 true, 0, false);
	}
	PG_FINALLY();
	{
		rk_token_verified_set = false;
	}
	PG_END_TRY();

	explicit_bzero(token, toklen);
	pfree(token);
	PG_RETURN_TEXT_P(cstring_to_text(tenant));
#else
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("tenant tokens need PostgreSQL 14 or later")));
	PG_RETURN_NULL();
#endif
}

/*
 * rowkeeper.sign_tenant_token(tenant text, expires_at timestamptz): a token
 * for tenant, valid until expires_at.  For tests and for a tenant service
 * that runs inside the database; only roles that may read the key (and
 * were granted EXECUTE) can call it.
 */
Datum
sign_tenant_token(PG_FUNCTION_ARGS)
{
#ifdef RK_HAVE_HMAC
	char	   *tenant;
	TimestampTz expires_at;
	StringInfoData buf;
	char		mac[2 * RK_HMAC_LEN + 1];

	if (!superuser() &&
		!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_SETTINGS))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to sign tenant tokens"),
				 errdetail("Only roles that can read rowkeeper.tenant_key (superusers, members of pg_read_all_settings) can sign tokens."),
				 errhint("Sign tokens in the application's tenant service with the same key.")));
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rowkeeper.sign_tenant_token(): tenant and expires_at must not be NULL")));
	tenant = text_to_cstring(PG_GETARG_TEXT_PP(0));
	expires_at = PG_GETARG_TIMESTAMPTZ(1);
	if (tenant[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rowkeeper.sign_tenant_token(): the tenant must not be empty")));
	if (TIMESTAMP_NOT_FINITE(expires_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rowkeeper.sign_tenant_token(): expires_at must be finite"),
				 errhint("Tokens should live minutes, not forever.")));

	initStringInfo(&buf);
	appendStringInfo(&buf, RK_TOKEN_VERSION INT64_FORMAT ".%s",
					 (int64) timestamptz_to_time_t(expires_at), tenant);
	hmac_sha256_hex(require_key(), buf.data, buf.len, mac);
	appendStringInfo(&buf, ".%s", mac);
	PG_RETURN_TEXT_P(cstring_to_text(buf.data));
#else
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("tenant tokens need PostgreSQL 14 or later")));
	PG_RETURN_NULL();
#endif
}
