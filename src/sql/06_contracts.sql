
-- src/sql/06_contracts.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Contracts between C and SQL with their owner in C.
--
-- Trigger options: one parser (src/catalog_util.c, rk_option_value), which
-- the triggers use and the extension's SQL calls through these functions.
-- The enable_* functions write the options as key=value trigger arguments;
-- nothing in SQL splits one.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION rowkeeper._trigger_option(args text[], key text)
RETURNS text
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', '_trigger_option';

COMMENT ON FUNCTION rowkeeper._trigger_option(text[], text) IS
'Internal: the value of option key among trigger arguments (key=value; the last one wins, as the triggers read them), or NULL.';

CREATE OR REPLACE FUNCTION rowkeeper._trigger_option_list(args text[], key text)
RETURNS text[]
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', '_trigger_option_list';

COMMENT ON FUNCTION rowkeeper._trigger_option_list(text[], text) IS
'Internal: the values of a repeatable option (exclude=, redact=) among trigger arguments, in argument order.';

------------------------------------------------------------------------------
-- The audit log's columns as the C writer fills them (src/audit_log.c owns
-- the list); the regression test "contracts" checks rowkeeper.audit_log
-- against it.
------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION rowkeeper._audit_log_columns(OUT names text[], OUT types regtype[])
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', '_audit_log_columns';

COMMENT ON FUNCTION rowkeeper._audit_log_columns() IS
'Internal: the columns of rowkeeper.audit_log the C writer fills, with their types (src/audit_log.c owns the list).';
