
-- src/sql/17_audit_forget.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Erasure that keeps tamper evidence: forget() and forget_actor()
--
-- The right to be forgotten collides with an append-only, hash-chained log.
-- Here it does not: the v2 entry digest (src/audit_chain.c, sealing in
-- src/sql/16_audit_chain.sql) commits to each erasable value through a
-- salted hash, so an erased value is replaced by "[erased]" and leaves its
-- commitment behind, in audit_log.erased, while the entry keeps matching
-- its sealed digest and any other change to it still does not.
--
-- forget(tbl, key, columns) erases the values of one row (every column but
-- the key, or the listed ones) from every entry of that row: both images of
-- every change, through key changes, and the details of events about it.
-- forget_actor(actor) replaces an actor by a stable pseudonym and erases
-- the request metadata of its entries (request_addr, user_agent, metadata).
-- Each call writes one erasure record into the log (op FORGET, in the row's
-- history, or FORGET_ACTOR; new_row names the columns or the pseudonym and
-- counts the entries, never a value), with the caller's context, and every
-- erased entry names its records in erased->'by'; verify_audit_chain()
-- checks that every erased entry names a real erasure record of it.
--
-- Per entry (_erase_entry), as the chain holds it:
-- - not sealed yet: erased now, sealed later with what is left;
-- - in a v2 batch: erased under its entry salt; every value left gets its
--   own salt in erased->'s', the entry salt is zeroed in audit_seal (so an
--   erased value can no longer be guessed from its commitment), and the
--   digest still equals the sealed one.  An entry that no longer matches
--   its sealed digest is refused (erasing it would launder the edit).
-- - in a v1 batch (sealed before the v2 digest): its v1 digest covers the
--   values themselves, so it cannot match after an erasure.  It is checked
--   against its sealed digest, given fresh salts, and the erasure record
--   vouches for it: new_row->'attested'->'<id>' = [sealed v1 digest, v2
--   digest of the erased entry]; the record is itself chained when the next
--   seal runs, and verify_audit_chain() checks the entry against it.
--
-- Who may erase: a superuser, the database owner (who administers
-- rowkeeper's roles and reads the whole log already), and for forget() the
-- owner of the table (who can delete its rows anyway), unless that role is
-- an application role (a member of rowkeeper_app).  Auditors read, they do
-- not erase.  The functions are SECURITY DEFINER (they rewrite entries of
-- the log, which belongs to the extension's owner); the caller is the role
-- that issued the statement (_audit_outer_user), which SECURITY DEFINER
-- does not hide.
--
-- forget and the sealer take the same lock on audit_seal, so an entry is
-- never erased while a seal reads it; both must run in READ COMMITTED so
-- that each sees the batches the other committed while it waited.
------------------------------------------------------------------------------

/*
 * The key of the actor pseudonyms: one row, made by the first
 * forget_actor() (not at install: pg_restore would then find a row of the
 * new install next to the dumped one), dumped.
 */
-- STATE BEGIN
CREATE TABLE rowkeeper.audit_erasure_key (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    key bytea   NOT NULL CHECK (pg_catalog.octet_length(key) = 32)
);
REVOKE ALL ON rowkeeper.audit_erasure_key FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_erasure_key', '');
COMMENT ON TABLE rowkeeper.audit_erasure_key IS
'The secret key of forget_actor() pseudonyms (stable across calls, and across pg_dump/pg_restore). Whoever reads it can test a guessed actor against a pseudonym: keep it to the extension''s owner.';
-- STATE END

CREATE OR REPLACE FUNCTION rowkeeper._audit_random_bytes(n integer)
RETURNS bytea
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'audit_random_bytes';
COMMENT ON FUNCTION rowkeeper._audit_random_bytes(integer) IS
'Internal: n bytes from the server''s strong random source.';
REVOKE ALL ON FUNCTION rowkeeper._audit_random_bytes(integer) FROM PUBLIC;

CREATE OR REPLACE FUNCTION rowkeeper._audit_outer_user()
RETURNS oid
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'audit_outer_user';
COMMENT ON FUNCTION rowkeeper._audit_outer_user() IS
'Internal: the role that issued the statement (login role or SET ROLE), not hidden by SECURITY DEFINER.';

CREATE OR REPLACE FUNCTION rowkeeper._audit_erase(e rowkeeper.audit_log, salt bytea, columns text[],
                                       identity boolean, pseudonym text, erased_by bigint)
RETURNS rowkeeper.audit_log
LANGUAGE C IMMUTABLE
AS 'MODULE_PATHNAME', 'audit_erase';
COMMENT ON FUNCTION rowkeeper._audit_erase(rowkeeper.audit_log, bytea, text[], boolean, text, bigint) IS
'Internal: the entry with the values of columns (and with identity its actor and request metadata) erased, their commitments and the salts of the values left in its erased column.';
REVOKE ALL ON FUNCTION rowkeeper._audit_erase(rowkeeper.audit_log, bytea, text[], boolean, text, bigint) FROM PUBLIC;

CREATE OR REPLACE FUNCTION rowkeeper._audit_log_erasure(op text, tbl regclass, row_key jsonb, detail jsonb)
RETURNS bigint
LANGUAGE C VOLATILE
AS 'MODULE_PATHNAME', 'audit_log_erasure';
COMMENT ON FUNCTION rowkeeper._audit_log_erasure(text, regclass, jsonb, jsonb) IS
'Internal: write an erasure record (op FORGET or FORGET_ACTOR) into the audit log; returns its id.';
REVOKE ALL ON FUNCTION rowkeeper._audit_log_erasure(text, regclass, jsonb, jsonb) FROM PUBLIC;

/*
 * Whether the role that issued the statement may erase: of table tbl
 * (forget), or of every table (tbl NULL: forget_actor).  An error naming
 * who may, else nothing.
 */
CREATE OR REPLACE FUNCTION rowkeeper._erasure_allowed(caller text, tbl regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    who oid := rowkeeper._audit_outer_user();
    dba oid := (SELECT d.datdba FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database());
    owner oid := (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = tbl);
BEGIN
    IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid = who)
       OR pg_catalog.pg_has_role(who, dba, 'USAGE') THEN
        RETURN;
    END IF;
    IF tbl IS NOT NULL AND pg_catalog.pg_has_role(who, owner, 'USAGE')
       AND NOT pg_catalog.pg_has_role(who, 'rowkeeper_app', 'USAGE') THEN
        RETURN;
    END IF;
    IF tbl IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('%s: role %s may not erase audit entries', caller, who::regrole::text),
            DETAIL = 'Erasing an actor rewrites entries of every table: only the database owner or a superuser may.',
            HINT = format('Run it as the database owner (role %s).', dba::regrole::text);
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
        MESSAGE = format('%s: role %s may not erase audit entries of %s', caller,
                         who::regrole::text, tbl),
        DETAIL = 'Erasure is for the owner of the table, the database owner or a superuser; application roles (members of rowkeeper_app) and auditors cannot erase.',
        HINT = format('Run it as the owner of %s (role %s) or as the database owner.', tbl,
                      owner::regrole::text);
END;
$$;
COMMENT ON FUNCTION rowkeeper._erasure_allowed(text, regclass) IS
'Internal: raise unless the role that issued the statement may erase audit entries of the table (NULL: of every table).';

/* forget and the sealer must see each other's batches: READ COMMITTED only. */
CREATE OR REPLACE FUNCTION rowkeeper._erasure_isolation(caller text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%s: cannot run in a %s transaction', caller,
                             pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))),
            DETAIL = 'An erasure must see the batches seal_audit_log() committed while it waited for them; a transaction snapshot would hide them.',
            HINT = 'Call it in a READ COMMITTED transaction (the default), or on its own.';
    END IF;
END;
$$;
COMMENT ON FUNCTION rowkeeper._erasure_isolation(text) IS
'Internal: raise unless the transaction is READ COMMITTED.';

/*
 * The pseudonym of an actor: "[erased:" and 16 hex digits of a keyed
 * SHA-256 of it, sha256(key || sha256(key || actor)), so stable across
 * entries and calls, and not computable without the key.
 */
CREATE OR REPLACE FUNCTION rowkeeper._actor_pseudonym(actor text)
RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT '[erased:' || pg_catalog.substr(pg_catalog.encode(
               pg_catalog.sha256(k.key || pg_catalog.sha256(k.key || pg_catalog.convert_to(actor, 'UTF8'))),
               'hex'), 1, 16) || ']'
      FROM rowkeeper.audit_erasure_key k
$$;
COMMENT ON FUNCTION rowkeeper._actor_pseudonym(text) IS
'Internal: the stable pseudonym forget_actor() gives an actor.';
REVOKE ALL ON FUNCTION rowkeeper._actor_pseudonym(text) FROM PUBLIC;

/*
 * Erase from one entry (see the header): NULL when there was nothing of it
 * to erase, else an object, with "attest" ([sealed v1 digest, new v2
 * digest], hex) for an entry of a v1 batch erased for the first time, and
 * "batch" and "pos" for an entry of a v2 batch, whose salt the caller
 * zeroes (once per batch, in _erasure_finish).
 */
CREATE OR REPLACE FUNCTION rowkeeper._erase_entry(e rowkeeper.audit_log, cols text[], identity boolean,
                                       pseudonym text, rid bigint, caller text)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s rowkeeper.audit_seal;
    pos bigint;
    salt bytea;
    sealed bytea;
    n rowkeeper.audit_log;
    result jsonb := '{}';
BEGIN
    SELECT * INTO s FROM rowkeeper.audit_seal x
     WHERE e.txid >= x.txid_lo AND e.txid < x.txid_hi AND x.purged_at IS NULL;
    IF s.batch IS NULL THEN
        salt := rowkeeper._audit_random_bytes(16);     -- not sealed yet
    ELSE
        SELECT count(*) INTO pos FROM rowkeeper.audit_log l
         WHERE l.txid >= s.txid_lo AND l.txid < s.txid_hi AND l.id < e.id;
        sealed := pg_catalog.substr(s.digests, (32 * pos + 1)::int, 32);
        IF s.salts IS NOT NULL THEN
            salt := pg_catalog.substr(s.salts, (16 * pos + 1)::int, 16);
            IF rowkeeper.audit_entry_digest(e, salt) <> sealed THEN
                sealed := NULL;
            END IF;
        ELSIF e.erased IS NULL THEN
            IF rowkeeper.audit_entry_digest(e) <> sealed THEN
                sealed := NULL;
            ELSE
                salt := rowkeeper._audit_random_bytes(16);
                result := pg_catalog.jsonb_build_object('attest', pg_catalog.jsonb_build_array(
                    pg_catalog.encode(sealed, 'hex'), pg_catalog.encode(rowkeeper.audit_entry_digest(e, salt), 'hex')));
            END IF;
        END IF;                 -- else erased before: every value has its salt
        IF sealed IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'data_corrupted',
                MESSAGE = format('%s: audit entry %s does not match its sealed digest', caller, e.id),
                DETAIL = 'The entry was changed after it was sealed; erasing from it would hide that.',
                HINT = 'Run rowkeeper.verify_audit_chain() and investigate before erasing.';
        END IF;
    END IF;
    n := rowkeeper._audit_erase(e, salt, cols, identity, pseudonym, rid);
    IF n.old_row IS NOT DISTINCT FROM e.old_row AND n.new_row IS NOT DISTINCT FROM e.new_row
       AND n.actor IS NOT DISTINCT FROM e.actor AND n.request_addr IS NOT DISTINCT FROM e.request_addr
       AND n.user_agent IS NOT DISTINCT FROM e.user_agent AND n.metadata IS NOT DISTINCT FROM e.metadata THEN
        RETURN NULL;
    END IF;
    IF result ? 'attest' THEN
        n.erased := n.erased || pg_catalog.jsonb_build_object('attested_by', rid);
    END IF;
    UPDATE rowkeeper.audit_log l
       SET old_row = n.old_row, new_row = n.new_row, actor = n.actor, request_addr = n.request_addr,
           user_agent = n.user_agent, metadata = n.metadata, erased = n.erased
     WHERE l.id = e.id AND l.logged_at = e.logged_at;
    IF s.salts IS NOT NULL THEN
        result := result || pg_catalog.jsonb_build_object('batch', s.batch, 'pos', pos);
    END IF;
    RETURN result;
END;
$$;
COMMENT ON FUNCTION rowkeeper._erase_entry(rowkeeper.audit_log, text[], boolean, text, bigint, text) IS
'Internal: erase columns (or the identity) from one audit entry, as its batch''s digest version requires; NULL if nothing changed.';

/*
 * The end of an erasure: the salts of the erased entries of v2 batches
 * zeroed (they no longer need them, and with them gone no erased value can
 * be guessed back from its commitment; zeroed: {batch: {position: true}}), and
 * the erasure record's final new_row: what was erased, never a value.
 */
CREATE OR REPLACE FUNCTION rowkeeper._erasure_finish(rid bigint, detail jsonb, n bigint, attested jsonb, zeroed jsonb)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    UPDATE rowkeeper.audit_seal x
       SET salts = (SELECT pg_catalog.string_agg(
                               CASE WHEN z.positions ? k::text THEN '\x00000000000000000000000000000000'::bytea
                                    ELSE pg_catalog.substr(x.salts, (16 * k + 1)::int, 16) END,
                               ''::bytea ORDER BY k)
                      FROM pg_catalog.generate_series(0, x.entries - 1) k)
      FROM (SELECT j.key::bigint AS batch, j.value AS positions FROM pg_catalog.jsonb_each(zeroed) j) z
     WHERE x.batch = z.batch AND x.salts IS NOT NULL;
    IF n = 0 THEN
        -- nothing erased: no record (it was written in this transaction)
        DELETE FROM rowkeeper.audit_log l WHERE l.id = rid AND l.logged_at = pg_catalog.now();
        RETURN;
    END IF;
    UPDATE rowkeeper.audit_log l
       SET new_row = detail || pg_catalog.jsonb_build_object('entries', n)
                     || CASE WHEN attested <> '{}' THEN pg_catalog.jsonb_build_object('attested', attested)
                             ELSE '{}' END
     WHERE l.id = rid AND l.logged_at = pg_catalog.now();
END;
$$;
COMMENT ON FUNCTION rowkeeper._erasure_finish(bigint, jsonb, bigint, jsonb, jsonb) IS
'Internal: zero the salts of erased entries, and complete (or drop, if nothing was erased) the erasure record.';

CREATE OR REPLACE FUNCTION rowkeeper.forget(tbl regclass, key jsonb, columns name[] DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.forget()';
    tid bigint;
    k jsonb;
    keycols text[];
    unknown text;
    cols text[];
    rid bigint;
    e rowkeeper.audit_log;
    r jsonb;
    n bigint := 0;
    attested jsonb := '{}';
    zeroed jsonb := '{}';
BEGIN
    IF tbl IS NULL OR key IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: table and key must not be NULL', caller),
            DETAIL = 'forget() erases the logged values of one row, named by its table and key.',
            HINT = 'For example: SELECT rowkeeper.forget(''users'', ''{"id": 42}'');';
    END IF;
    tbl := rowkeeper._audit_base(tbl);
    PERFORM rowkeeper._erasure_allowed(caller, tbl);
    PERFORM rowkeeper._erasure_isolation(caller);
    tid := rowkeeper._history_id(tbl);
    IF tid = 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('%s: table %s has no audit history', caller, tbl),
            DETAIL = 'It was never audited, so the audit log holds none of its rows.',
            HINT = 'Check the table name: history belongs to the table that was audited (rowkeeper.audit_incarnations).';
    END IF;
    k := rowkeeper.normalize_key(tbl, key);
    keycols := (rowkeeper._row_key(tbl)).columns::text[];
    IF columns IS NOT NULL THEN
        IF pg_catalog.cardinality(columns) = 0 THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('%s: columns must not be empty', caller),
                DETAIL = 'An empty list would erase nothing.',
                HINT = 'Pass the columns to erase, or NULL (the default) for every column but the key.';
        END IF;
        IF columns::text[] && keycols THEN
            RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
                MESSAGE = format('%s: key columns of %s cannot be erased', caller, tbl),
                DETAIL = format('Key columns: %s. The key is how the log finds the row''s history, and the erasure record names it.',
                                pg_catalog.array_to_string(keycols, ', ')),
                HINT = 'Erase the other columns; give tables that hold personal data a surrogate key.';
        END IF;
        SELECT pg_catalog.string_agg(c, ', ') INTO unknown FROM pg_catalog.unnest(columns::text[]) c
         WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = tbl AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped);
        IF unknown IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'undefined_column',
                MESSAGE = format('%s: %s has no column %s', caller, tbl, unknown),
                DETAIL = 'Only columns of the table can be erased from its history.',
                HINT = 'Check the column names (they are case-sensitive), or pass NULL to erase every column but the key.';
        END IF;
    END IF;
    LOCK TABLE rowkeeper.audit_seal IN EXCLUSIVE MODE;     -- no seal reads what we erase
    rid := rowkeeper._audit_log_erasure('FORGET', tbl, k, '{}');
    FOR e IN SELECT * FROM rowkeeper._row_entries(tid, k) x
              WHERE x.op NOT IN ('FORGET', 'FORGET_ACTOR') ORDER BY x.id LOOP
        cols := CASE WHEN e.op = 'EVENT' THEN CASE WHEN columns IS NULL THEN ARRAY['details'] END
                     WHEN columns IS NULL THEN
                         ARRAY(SELECT j FROM pg_catalog.jsonb_object_keys(
                                   CASE WHEN pg_catalog.jsonb_typeof(e.old_row) = 'object' THEN e.old_row ELSE '{}' END
                                   || CASE WHEN pg_catalog.jsonb_typeof(e.new_row) = 'object' THEN e.new_row ELSE '{}' END) j
                                WHERE j <> ALL (keycols))
                     ELSE columns::text[] END;
        CONTINUE WHEN cols IS NULL OR pg_catalog.cardinality(cols) = 0;
        r := rowkeeper._erase_entry(e, cols, false, NULL, rid, caller);
        IF r IS NOT NULL THEN
            n := n + 1;
            IF r ? 'attest' THEN
                attested := attested || pg_catalog.jsonb_build_object(e.id::text, r -> 'attest');
            END IF;
            IF r ? 'batch' THEN
                zeroed := zeroed || pg_catalog.jsonb_build_object(r ->> 'batch',
                              coalesce(zeroed -> (r ->> 'batch'), '{}') || pg_catalog.jsonb_build_object(r ->> 'pos', true));
            END IF;
        END IF;
    END LOOP;
    PERFORM rowkeeper._erasure_finish(rid, pg_catalog.jsonb_build_object('columns', columns), n, attested, zeroed);
    RETURN n;
END;
$$;

COMMENT ON FUNCTION rowkeeper.forget(regclass, jsonb, name[]) IS
'Erase the logged values of one row (every column but the key, or the listed columns) from every audit entry of it; the hash chain still verifies. Records the erasure (op FORGET, never the values). Returns the number of entries changed (0: none held them). For the table owner, the database owner or a superuser.';
-- EXECUTE stays with PUBLIC: who may erase is checked inside (_erasure_allowed).

CREATE OR REPLACE FUNCTION rowkeeper.forget_actor(actor text)
RETURNS TABLE (pseudonym text, entries bigint)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    caller constant text := 'rowkeeper.forget_actor()';
    p text;
    rid bigint;
    e rowkeeper.audit_log;
    r jsonb;
    n bigint := 0;
    attested jsonb := '{}';
    zeroed jsonb := '{}';
BEGIN
    IF actor IS NULL OR actor = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('%s: actor must not be NULL or empty', caller),
            DETAIL = 'forget_actor() replaces one rowkeeper.actor value by a pseudonym.',
            HINT = 'Pass the actor as the application set it, e.g. SELECT * FROM rowkeeper.forget_actor(''user:42'');';
    END IF;
    PERFORM rowkeeper._erasure_allowed(caller, NULL);
    PERFORM rowkeeper._erasure_isolation(caller);
    INSERT INTO rowkeeper.audit_erasure_key (key) VALUES (rowkeeper._audit_random_bytes(32))
        ON CONFLICT (one) DO NOTHING;
    p := rowkeeper._actor_pseudonym(actor);
    LOCK TABLE rowkeeper.audit_seal IN EXCLUSIVE MODE;
    rid := rowkeeper._audit_log_erasure('FORGET_ACTOR', NULL, NULL, '{}');
    FOR e IN SELECT * FROM rowkeeper.audit_log l
              WHERE l.actor = forget_actor.actor AND l.id <> rid ORDER BY l.id LOOP
        r := rowkeeper._erase_entry(e, NULL, true, p, rid, caller);
        IF r IS NOT NULL THEN
            n := n + 1;
            IF r ? 'attest' THEN
                attested := attested || pg_catalog.jsonb_build_object(e.id::text, r -> 'attest');
            END IF;
            IF r ? 'batch' THEN
                zeroed := zeroed || pg_catalog.jsonb_build_object(r ->> 'batch',
                              coalesce(zeroed -> (r ->> 'batch'), '{}') || pg_catalog.jsonb_build_object(r ->> 'pos', true));
            END IF;
        END IF;
    END LOOP;
    PERFORM rowkeeper._erasure_finish(rid, pg_catalog.jsonb_build_object('pseudonym', p), n, attested, zeroed);
    pseudonym := p;
    entries := n;
    RETURN NEXT;
END;
$$;

COMMENT ON FUNCTION rowkeeper.forget_actor(text) IS
'Replace an actor by a stable pseudonym in every audit entry, and erase the request metadata of those entries (request address, user agent, metadata); the hash chain still verifies. Records the erasure (op FORGET_ACTOR, with the pseudonym, never the actor). For the database owner or a superuser.';
-- EXECUTE stays with PUBLIC: who may erase is checked inside (_erasure_allowed).

/*
 * verify_audit_chain()'s check of an erased entry: every erasure record it
 * names exists, is an erasure record newer than it (a FORGET one of its
 * table); an erased actor
 * is the pseudonym of one of them; and an entry of a v1 batch is what its
 * erasure record vouches for (its sealed v1 digest and its v2 digest now).
 * The problem, or NULL.
 */
CREATE OR REPLACE FUNCTION rowkeeper._erased_problem(entry_id bigint, entry_erased jsonb, entry_actor text, digest bytea,
                                          sealed bytea, v1 boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rid bigint;
    rop text;
    rnew jsonb;
    rtable bigint;
    etable bigint := (SELECT l.table_id FROM rowkeeper.audit_log l WHERE l.id = entry_id);
    actor_ok boolean := NOT coalesce(entry_erased -> 'c' ? 'actor', false);
    att jsonb;
BEGIN
    IF pg_catalog.jsonb_typeof(entry_erased -> 'by') IS DISTINCT FROM 'array'
       OR pg_catalog.jsonb_array_length(entry_erased -> 'by') = 0 THEN
        RETURN 'erased entry names no erasure record';
    END IF;
    FOR rid IN SELECT (x #>> '{}')::bigint FROM pg_catalog.jsonb_array_elements(entry_erased -> 'by') x LOOP
        rop := NULL;
        SELECT l.op, l.new_row, l.table_id INTO rop, rnew, rtable FROM rowkeeper.audit_log l WHERE l.id = rid;
        IF rop IS NULL OR rop NOT IN ('FORGET', 'FORGET_ACTOR') OR rid <= entry_id
           OR (rop = 'FORGET' AND rtable IS DISTINCT FROM etable) THEN
            RETURN format('erased entry names entry %s, which is not an erasure record of it', rid);
        END IF;
        IF rop = 'FORGET_ACTOR' AND rnew ->> 'pseudonym' = entry_actor THEN
            actor_ok := true;
        END IF;
    END LOOP;
    IF NOT actor_ok THEN
        RETURN 'erased entry''s actor is not the pseudonym its erasure record gave';
    END IF;
    IF v1 THEN
        SELECT l.new_row -> 'attested' -> (entry_id::text) INTO att FROM rowkeeper.audit_log l
         WHERE l.id = (entry_erased ->> 'attested_by')::bigint AND l.op IN ('FORGET', 'FORGET_ACTOR');
        IF att IS NULL OR att ->> 0 IS DISTINCT FROM pg_catalog.encode(sealed, 'hex')
           OR att ->> 1 IS DISTINCT FROM pg_catalog.encode(digest, 'hex') THEN
            RETURN 'erased entry does not match what its erasure record vouches for (edited after the erasure)';
        END IF;
    END IF;
    RETURN NULL;
END;
$$;
COMMENT ON FUNCTION rowkeeper._erased_problem(bigint, jsonb, text, bytea, bytea, boolean) IS
'Internal: what is wrong with an erased entry (its erasure records, its pseudonym, a v1 entry''s attestation), or NULL.';
