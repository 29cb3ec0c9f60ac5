
-- src/sql/03_context.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Request context: rowkeeper.actor, rowkeeper.tenant, rowkeeper.request_id
------------------------------------------------------------------------------

/*
 * Request metadata: the end user's side of a request, set with
 * set_context() next to actor, tenant and request id, transaction-local
 * like them (so safe behind transaction pooling), recorded with every entry
 * (src/context.c, src/audit.c) and covered by the hash chain
 * (src/audit_chain.c).  client_addr is the log's existing column: the
 * address of the connection, which behind a pooler or an application
 * server is theirs.
 */
CREATE OR REPLACE FUNCTION rowkeeper.set_context(actor text DEFAULT NULL,
                                      tenant text DEFAULT NULL,
                                      request_id text DEFAULT NULL,
                                      client_addr inet DEFAULT NULL,
                                      user_agent text DEFAULT NULL,
                                      metadata jsonb DEFAULT NULL)
RETURNS void
LANGUAGE C VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'set_context';

COMMENT ON FUNCTION rowkeeper.set_context(text, text, text, inet, text, jsonb) IS
'Set the request context (actor, tenant, request id; the end user''s client address, user agent and metadata object) for the rest of the current transaction. NULL leaves a part unchanged, '''' (''{}'' for metadata) clears it.';

CREATE OR REPLACE FUNCTION rowkeeper.current_actor()
RETURNS text
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_actor';

COMMENT ON FUNCTION rowkeeper.current_actor() IS
'The application actor of the current request (rowkeeper.actor), or NULL when none is set.';

CREATE OR REPLACE FUNCTION rowkeeper.current_request_id()
RETURNS text
LANGUAGE C STABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'current_request_id';

COMMENT ON FUNCTION rowkeeper.current_request_id() IS
'The request id of the current request (rowkeeper.request_id), or NULL when none is set.';

