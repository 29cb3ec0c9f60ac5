-- tenant_token: the unforgeable mode.  With rowkeeper.tenant_mode = token
-- the tenant can only be set by rowkeeper.set_tenant_token(), which checks
-- an HMAC-SHA256 signature made with a key the application role can
-- neither read nor set, and an expiry.
CREATE ROLE rk_tok_app;
CREATE TABLE tt (id int PRIMARY KEY, tenant_id text NOT NULL);
SELECT rowkeeper.enable_tenant_isolation('tt');
INSERT INTO tt VALUES (1, 'acme'), (2, 'globex'), (3, 'acme.eu');
GRANT SELECT, INSERT ON tt TO rk_tok_app;
-- try(stmt): run stmt and show the error it raises, SQLSTATE included.
CREATE FUNCTION pg_temp.try(stmt text,
    OUT code text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    message := 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END;
$$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO rk_tok_app;
-- HMAC-SHA256 written out in SQL (RFC 2104), to show that tokens are the
-- standard construction any language's library produces.
CREATE FUNCTION pg_temp.hmac_sha256(key bytea, msg bytea) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    k bytea := key || decode(repeat('00', 64 - length(key)), 'hex');
    ipad bytea := k;
    opad bytea := k;
BEGIN
    FOR i IN 0..63 LOOP
        ipad := set_byte(ipad, i, get_byte(k, i) # 54);
        opad := set_byte(opad, i, get_byte(k, i) # 92);
    END LOOP;
    RETURN encode(sha256(opad || sha256(ipad || msg)), 'hex');
END;
$$;
\set key 'rk-test-key-0123456789abcdef0123456789'
\set other_key 'rk-other-key-0123456789abcdef012345678'

------------------------------------------------------------------------------
-- The key and the mode are superuser settings.
------------------------------------------------------------------------------
\x on
SELECT * FROM pg_temp.try($$SET rowkeeper.tenant_key = 'too short'$$);
\x off
SET rowkeeper.tenant_key = :'key';
SHOW rowkeeper.tenant_key;
SET rowkeeper.tenant_mode = token;
SET ROLE rk_tok_app;
\x on
-- reading the key is refused, and the error does not show it (the
-- message's wording changed in 16: its code and subject did not)
SELECT code, message LIKE '%"rowkeeper.tenant_key"%' AS names_the_key,
       strpos(concat(message, detail, hint), :'key') = 0 AS key_not_shown
  FROM pg_temp.try($$SHOW rowkeeper.tenant_key$$);
SELECT code, message LIKE '%"rowkeeper.tenant_key"%' AS names_the_key,
       strpos(concat(message, detail, hint), :'key') = 0 AS key_not_shown
  FROM pg_temp.try($$SELECT current_setting('rowkeeper.tenant_key')$$);
SELECT * FROM pg_temp.try($$SET rowkeeper.tenant_key = 'rk-attacker-key-0123456789abcdef0123'$$);
SELECT * FROM pg_temp.try($$SET rowkeeper.tenant_mode = context$$);
SELECT * FROM pg_temp.try($$RESET rowkeeper.tenant_mode$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.sign_tenant_token('acme')$$);
\x off
SELECT count(*) AS key_in_pg_settings FROM pg_settings WHERE name = 'rowkeeper.tenant_key';
SELECT current_setting('rowkeeper.tenant_mode') AS mode;
RESET ROLE;

------------------------------------------------------------------------------
-- Tokens: v1.<expires>.<tenant>.<hex HMAC-SHA256 of what precedes the dot>
------------------------------------------------------------------------------
SELECT rowkeeper.sign_tenant_token('acme', '2100-01-01 00:00:00+00') AS acme_token \gset
SELECT rowkeeper.sign_tenant_token('globex', '2100-01-01 00:00:00+00') AS globex_token \gset
SELECT rowkeeper.sign_tenant_token('acme.eu', '2100-01-01 00:00:00+00') AS dotted_token \gset
SELECT :'acme_token' AS acme_token;
SELECT :'acme_token' = 'v1.4102444800.acme.'
       || pg_temp.hmac_sha256(convert_to(:'key', 'UTF8'), convert_to('v1.4102444800.acme', 'UTF8'))
       AS standard_hmac;
SET rowkeeper.tenant_key = :'other_key';
SELECT rowkeeper.sign_tenant_token('globex', '2100-01-01 00:00:00+00') AS wrong_key_token \gset
SET rowkeeper.tenant_key = :'key';
SELECT rowkeeper.sign_tenant_token('acme', now() - interval '1 second') AS expired_token \gset

SET ROLE rk_tok_app;
-- No tenant: the hint names the token path.
SELECT count(*) FROM tt;

-- Every direct way to choose a tenant is refused.
\x on
SELECT * FROM pg_temp.try($$SET rowkeeper.tenant = 'acme'$$);
SELECT * FROM pg_temp.try($$SET LOCAL rowkeeper.tenant = 'acme'$$);
SELECT * FROM pg_temp.try($$SELECT set_config('rowkeeper.tenant', 'acme', true)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.set_context(tenant => 'acme')$$);
SELECT * FROM pg_temp.try($$UPDATE pg_settings SET setting = 'acme' WHERE name = 'rowkeeper.tenant'$$);
SELECT * FROM pg_temp.try($$CREATE FUNCTION pg_temp.as_acme() RETURNS bigint LANGUAGE sql
                             SET rowkeeper.tenant = 'acme' AS 'SELECT count(*) FROM public.tt'$$);
\x off
SELECT current_setting('rowkeeper.tenant') = '' AS still_no_tenant;
-- Clearing is always allowed (it only takes access away); so is the rest
-- of the context.
SET rowkeeper.tenant = '';
RESET rowkeeper.tenant;
BEGIN;
SELECT rowkeeper.set_context(actor => 'alice', tenant => '', request_id => 'r1');
SELECT rowkeeper.current_actor(), rowkeeper.current_request_id();
COMMIT;

-- A valid token sets the tenant for the transaction and returns it.
BEGIN;
SELECT rowkeeper.set_tenant_token(:'acme_token');
SELECT * FROM tt ORDER BY id;
INSERT INTO tt (id) VALUES (4) RETURNING *;
-- a tenant containing dots
SELECT rowkeeper.set_tenant_token(:'dotted_token');
SELECT * FROM tt ORDER BY id;
-- another token switches (the application got it from its tenant service)
SELECT rowkeeper.set_tenant_token(:'globex_token');
SELECT * FROM tt ORDER BY id;
-- parallel workers receive the verified tenant from the leader
-- (force_parallel_mode is called debug_parallel_query from 16 on)
RESET ROLE;
SELECT CASE WHEN current_setting('server_version_num')::int >= 160000
            THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END AS parallel_guc \gset
SET LOCAL :parallel_guc = on;
SET ROLE rk_tok_app;
SELECT count(*) FROM tt;
COMMIT;
-- gone after the transaction
SELECT count(*) FROM tt;
SELECT rowkeeper.set_tenant_token(:'acme_token');

-- Bad tokens raise and leave the context as it was.
BEGIN;
SELECT rowkeeper.set_tenant_token(:'acme_token');
\x on
-- tampered: another tenant, another expiry, another signature
SELECT * FROM pg_temp.try(format('SELECT rowkeeper.set_tenant_token(%L)', replace(:'acme_token', '.acme.', '.globex.')));
SELECT * FROM pg_temp.try(format('SELECT rowkeeper.set_tenant_token(%L)', replace(:'acme_token', '.4102444800.', '.4102444801.')));
SELECT * FROM pg_temp.try(format('SELECT rowkeeper.set_tenant_token(%L)', left(:'acme_token', -1) || '0'));
SELECT * FROM pg_temp.try(format('SELECT rowkeeper.set_tenant_token(%L)', upper(:'acme_token')));
-- signed with another key
SELECT * FROM pg_temp.try(format('SELECT rowkeeper.set_tenant_token(%L)', :'wrong_key_token'));
-- expired
SELECT code, message, hint, detail LIKE 'It expired at %' AS detail_gives_time
  FROM pg_temp.try(format('SELECT rowkeeper.set_tenant_token(%L)', :'expired_token'));
-- malformed
SELECT * FROM pg_temp.try($$SELECT rowkeeper.set_tenant_token('acme')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.set_tenant_token('v2.4102444800.acme.00')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.set_tenant_token('v1.4102444800.acme')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.set_tenant_token('v1.4102444800.acme.abc')$$);
SELECT * FROM pg_temp.try(format('SELECT rowkeeper.set_tenant_token(%L)', 'v1.soon.acme.' || repeat('0', 64)));
SELECT * FROM pg_temp.try(format('SELECT rowkeeper.set_tenant_token(%L)', 'v1.4102444800..' || repeat('0', 64)));
SELECT * FROM pg_temp.try($$SELECT rowkeeper.set_tenant_token('')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.set_tenant_token(NULL)$$);
\x off
SELECT rowkeeper.current_tenant() AS unchanged;
SELECT * FROM tt ORDER BY id;
COMMIT;

-- Role and database defaults cannot choose a tenant either.
RESET ROLE;
\x on
SELECT * FROM pg_temp.try($$ALTER ROLE rk_tok_app SET rowkeeper.tenant = 'acme'$$);
\x off

-- Without a key no token verifies (fail closed), and none can be signed.
RESET rowkeeper.tenant_key;
\x on
SELECT * FROM pg_temp.try(format('SELECT rowkeeper.set_tenant_token(%L)', :'acme_token'));
SELECT * FROM pg_temp.try($$SELECT rowkeeper.sign_tenant_token('acme')$$);
SET rowkeeper.tenant_key = :'key';
SELECT * FROM pg_temp.try($$SELECT rowkeeper.sign_tenant_token('')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.sign_tenant_token('acme', NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.sign_tenant_token('acme', 'infinity')$$);
\x off

-- In context mode tokens work too, next to set_context().
RESET rowkeeper.tenant_mode;
SET ROLE rk_tok_app;
BEGIN;
SELECT rowkeeper.set_tenant_token(:'globex_token');
SELECT * FROM tt ORDER BY id;
SELECT rowkeeper.set_context(tenant => 'acme');
SELECT * FROM tt ORDER BY id;
COMMIT;
RESET ROLE;

RESET rowkeeper.tenant_key;
SELECT rowkeeper.disable_tenant_isolation('tt');
DROP TABLE tt;
DROP OWNED BY rk_tok_app;
DROP ROLE rk_tok_app;
