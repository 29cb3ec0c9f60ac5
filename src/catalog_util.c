/*-------------------------------------------------------------------------
 *
 * catalog_util.c
 *	  Small SQL-callable helpers that the extension's own SQL uses to read
 *	  configuration back out of the catalogs (principle: a table's settings
 *	  are its triggers and policies, not rows in a side table).
 *
 *	  rowkeeper._trigger_args(bytea) decodes pg_trigger.tgargs, a sequence
 *	  of NUL-terminated strings that plain SQL cannot split reliably.  The
 *	  rk_option_* helpers read the same key=value arguments from C, for the
 *	  triggers of every capability.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/rel.h"

#include "rowkeeper.h"

PG_FUNCTION_INFO_V1(_trigger_args);

/*
 * rowkeeper._trigger_args(tgargs bytea) returns text[]
 *
 * Splits a pg_trigger.tgargs value into its arguments.  Every argument is
 * terminated by a NUL byte; a value without a final NUL is not something
 * the catalog produces, and is rejected rather than guessed at.
 */
Datum
_trigger_args(PG_FUNCTION_ARGS)
{
	bytea	   *raw = PG_GETARG_BYTEA_PP(0);
	const char *p = VARDATA_ANY(raw);
	const char *end = p + VARSIZE_ANY_EXHDR(raw);
	ArrayBuildState *astate = NULL;

	while (p < end)
	{
		const char *nul = memchr(p, '\0', end - p);

		if (nul == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("malformed trigger argument list"),
					 errdetail("The last argument is not terminated by a zero byte.")));
		astate = accumArrayResult(astate,
								  PointerGetDatum(cstring_to_text_with_len(p, nul - p)),
								  false, TEXTOID, CurrentMemoryContext);
		p = nul + 1;
	}

	if (astate == NULL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	PG_RETURN_DATUM(makeArrayResult(astate, CurrentMemoryContext));
}

/*
 * Report a trigger argument that its enable_* function would not have
 * written (a trigger created by hand, or edited).
 */
void
rk_bad_trigger_argument(const RkTriggerArgs *ta, const char *arg)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid argument \"%s\" to trigger \"%s\" on table \"%s\"",
					arg, ta->trigger->tgname, RelationGetRelationName(ta->rel)),
			 errdetail("%s", ta->usage),
			 errhint("Create the trigger with %s instead of CREATE TRIGGER.",
					 ta->enable_fn)));
}

/* The value of arg when it reads key=value, else NULL. */
const char *
rk_option_value(const char *arg, const char *key)
{
	size_t		keylen = strlen(key);

	if (strncmp(arg, key, keylen) == 0 && arg[keylen] == '=')
		return arg + keylen + 1;
	return NULL;
}

/* A boolean option value, or the error for a malformed argument. */
bool
rk_option_bool(const RkTriggerArgs *ta, const char *arg, const char *value)
{
	bool		result;

	if (!parse_bool(value, &result))
		rk_bad_trigger_argument(ta, arg);
	return result;
}
