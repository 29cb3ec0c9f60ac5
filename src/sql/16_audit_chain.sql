
-- src/sql/16_audit_chain.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Tamper evidence: a SHA-256 hash chain over the audit log
--
-- Writers do not chain: entry ids come from a sequence and are not in commit
-- order, and a chain built at write time would make every audited write in
-- the database wait on one lock.  Instead seal_audit_log() (schedule it with
-- pg_cron) seals, in batches, the entries of every transaction that has
-- finished: the transactions below the oldest one still running
-- (pg_snapshot_xmin), whose entries can no longer change in number.  Batch
-- n covers the transaction ids [txid_lo, txid_hi), its entries in id order;
-- it stores each entry's digest and hash = sha256(prev_hash || digests),
-- with prev_hash the hash of batch n - 1.  verify_audit_chain() recomputes
-- all of it and names the first entry or link that does not verify;
-- audit_chain_head() is the latest hash, to keep outside the database, so
-- that a chain rewritten as a whole is caught too.
--
-- Entry digest: audit_entry_digest(), in C (src/audit_chain.c): SHA-256 of
-- a canonical encoding of every column, each length-prefixed in UTF-8
-- (NULL distinct from ''), logged_at in microseconds (no time zone), jsonb
-- in its canonical text form (sorted keys; 1 and 1.0 differ, as they differ
-- in the log).  Entries not yet sealed are reported as the tail.
--
-- Digest versions.  Batches sealed with a salt per entry (audit_seal.salts,
-- 16 bytes per entry in digest order) use the v2 digest,
-- audit_entry_digest(e, salt): every value that erasure may remove (each
-- value of old_row/new_row, actor, request_addr, user_agent, metadata) is
-- encoded as a salted commitment, so that rowkeeper.forget() can replace the
-- value by "[erased]" and keep the commitment (in audit_log.erased) while
-- the entry still matches its sealed digest (src/audit_chain.c).  Batches
-- sealed before (salts NULL: by 0.2.0) keep verifying with v1, which covers
-- the columns 0.2.0's log had (id to row_ref, row_ref as 0.2.0 computed it
-- from the names: the upgrade recomputed the column); an entry of such a
-- batch that was erased is vouched for by its erasure record instead (see
-- src/sql/17_audit_forget.sql).
------------------------------------------------------------------------------

-- STATE BEGIN
CREATE TABLE rowkeeper.audit_seal (
    batch       bigint      PRIMARY KEY,
    txid_lo     xid8        NOT NULL,
    txid_hi     xid8        NOT NULL,
    entries     bigint      NOT NULL,
    digests     bytea       NOT NULL,
    prev_hash   bytea       NOT NULL,
    hash        bytea       NOT NULL,
    sealed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    last_logged_at timestamptz NOT NULL,
    purged_at   timestamptz,
    salts       bytea
);
REVOKE ALL ON rowkeeper.audit_seal FROM PUBLIC;
GRANT SELECT ON rowkeeper.audit_seal TO rowkeeper_auditor;
SELECT pg_catalog.pg_extension_config_dump('rowkeeper.audit_seal', '');
COMMENT ON TABLE rowkeeper.audit_seal IS
'Hash chain over rowkeeper.audit_log: one row per sealed batch of finished transactions (see rowkeeper.seal_audit_log()).';
COMMENT ON COLUMN rowkeeper.audit_seal.salts IS
'The entry salts of a batch sealed with the v2 digest, 16 bytes per entry in digest order (NULL: a v1 batch); an erased entry''s salt is zeroed.';
COMMENT ON COLUMN rowkeeper.audit_seal.purged_at IS
'Set when purge_audit_log() removed the batch''s entries: the batch stays in the chain (its link and hash), its digests are dropped.';
-- STATE END

CREATE OR REPLACE FUNCTION rowkeeper.audit_entry_digest(e rowkeeper.audit_log)
RETURNS bytea
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'audit_entry_digest';

COMMENT ON FUNCTION rowkeeper.audit_entry_digest(rowkeeper.audit_log) IS
'SHA-256 of the v1 canonical encoding of one audit entry, the digest of batches sealed by 0.2.0 (the columns id to row_ref, length-prefixed UTF-8, row_ref as 0.2.0 computed it; see src/audit_chain.c).';

CREATE OR REPLACE FUNCTION rowkeeper.audit_entry_digest(e rowkeeper.audit_log, salt bytea)
RETURNS bytea
LANGUAGE C IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'audit_entry_digest_v2';

COMMENT ON FUNCTION rowkeeper.audit_entry_digest(rowkeeper.audit_log, bytea) IS
'The v2 digest of one audit entry under its salt: SHA-256 of the canonical encoding with a salted commitment in place of each erasable value (see src/audit_chain.c).';

CREATE OR REPLACE FUNCTION rowkeeper._audit_seal_entry(e rowkeeper.audit_log)
RETURNS bytea
LANGUAGE C VOLATILE STRICT
AS 'MODULE_PATHNAME', 'audit_seal_entry';

COMMENT ON FUNCTION rowkeeper._audit_seal_entry(rowkeeper.audit_log) IS
'Internal: a new random salt (16 bytes) followed by the entry''s v2 digest under it (32 bytes).';
REVOKE ALL ON FUNCTION rowkeeper._audit_seal_entry(rowkeeper.audit_log) FROM PUBLIC;

/*
 * Seal the entries of every transaction finished since the last batch.
 * One sealer at a time (a lock on audit_seal); writers never wait.
 */
CREATE OR REPLACE FUNCTION rowkeeper.seal_audit_log()
RETURNS TABLE (batch bigint, entries bigint, hash text)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    last rowkeeper.audit_seal;
    lo xid8;
    hi xid8;
    d bytea;
    n bigint;
    h bytea;
    b bigint;
    last_at timestamptz;
    salts bytea;
BEGIN
    LOCK TABLE rowkeeper.audit_seal IN EXCLUSIVE MODE;
    SELECT * INTO last FROM rowkeeper.audit_seal s ORDER BY s.batch DESC LIMIT 1;
    lo := coalesce(last.txid_hi, '0'::xid8);
    hi := pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot());
    IF hi <= lo THEN
        RETURN;
    END IF;
    -- a salt per entry and the entry's v2 digest under it (OFFSET 0: once per entry)
    SELECT coalesce(string_agg(pg_catalog.substr(x.sd, 17, 32), ''::bytea ORDER BY x.id), ''::bytea),
           coalesce(string_agg(pg_catalog.substr(x.sd, 1, 16), ''::bytea ORDER BY x.id), ''::bytea),
           count(*), max(x.logged_at)
      INTO d, salts, n, last_at
      FROM (SELECT l.id, l.logged_at, rowkeeper._audit_seal_entry(l) AS sd
              FROM rowkeeper.audit_log l
             WHERE l.txid >= lo AND l.txid < hi OFFSET 0) x;
    IF n = 0 THEN
        -- nothing to seal: no batch (the next one starts at lo again, and
        -- no entry can appear for transactions that have finished)
        RETURN;
    END IF;
    b := coalesce(last.batch, 0) + 1;
    h := pg_catalog.sha256(coalesce(last.hash, ''::bytea) || d);
    INSERT INTO rowkeeper.audit_seal (batch, txid_lo, txid_hi, entries, digests, prev_hash, hash, last_logged_at, salts)
    VALUES (b, lo, hi, n, d, coalesce(last.hash, ''::bytea), h, last_at, salts);
    batch := b; entries := n; hash := pg_catalog.encode(h, 'hex');
    RETURN NEXT;
END;
$$;

REVOKE ALL ON FUNCTION rowkeeper.seal_audit_log() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION rowkeeper.seal_audit_log() TO rowkeeper_auditor;

COMMENT ON FUNCTION rowkeeper.seal_audit_log() IS
'Seal the audit entries of every transaction finished since the last seal into the hash chain (one batch). Schedule it (pg_cron), e.g. every minute.';

CREATE OR REPLACE FUNCTION rowkeeper.audit_chain_head()
RETURNS TABLE (batch bigint, hash text, sealed_at timestamptz, entries_sealed bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT s.batch, pg_catalog.encode(s.hash, 'hex'), s.sealed_at,
           (SELECT sum(x.entries)::bigint FROM rowkeeper.audit_seal x)
      FROM rowkeeper.audit_seal s ORDER BY s.batch DESC LIMIT 1
$$;

COMMENT ON FUNCTION rowkeeper.audit_chain_head() IS
'The latest sealed hash of the audit chain: store it outside the database, and pass it to verify_audit_chain() later.';

/*
 * Verify the chain: every batch sealed in [since, until] (all by default),
 * its link to the batch before, its hash, and every entry of its range in
 * order.  Returns one row: how many entries verified, the first problem
 * (NULL when none) and the entry or batch it concerns, and how many entries
 * are not sealed yet.  expected_head, a hash from audit_chain_head() kept
 * elsewhere, must be in the chain.
 */
CREATE OR REPLACE FUNCTION rowkeeper.verify_audit_chain(since timestamptz DEFAULT NULL,
                                             until timestamptz DEFAULT NULL,
                                             expected_head text DEFAULT NULL)
RETURNS TABLE (verified bigint, problem text, audit_id bigint, batch bigint, unsealed bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s rowkeeper.audit_seal;
    prev rowkeeper.audit_seal;
    e record;
    i bigint;
    ok bigint := 0;
    sealed_hi xid8;
BEGIN
    verified := 0; problem := NULL; audit_id := NULL; batch := NULL;
    SELECT max(x.txid_hi) INTO sealed_hi FROM rowkeeper.audit_seal x;
    SELECT count(*) INTO unsealed FROM rowkeeper.audit_log l
     WHERE sealed_hi IS NULL OR l.txid >= sealed_hi;

    IF expected_head IS NOT NULL AND NOT EXISTS (
           SELECT FROM rowkeeper.audit_seal x WHERE pg_catalog.encode(x.hash, 'hex') = lower(expected_head)) THEN
        problem := 'expected head not in the chain: the chain was rewritten or truncated';
        RETURN NEXT;
        RETURN;
    END IF;

    FOR s IN SELECT * FROM rowkeeper.audit_seal x
              WHERE (since IS NULL OR x.sealed_at >= since) AND (until IS NULL OR x.sealed_at <= until)
              ORDER BY x.batch LOOP
        batch := s.batch;
        SELECT * INTO prev FROM rowkeeper.audit_seal x WHERE x.batch = s.batch - 1;
        IF s.batch > 1 AND prev.batch IS NULL THEN
            IF since IS NULL THEN
                problem := format('batch %s missing before batch %s', s.batch - 1, s.batch);
                RETURN NEXT; RETURN;
            END IF;
        ELSIF (s.batch = 1 AND (s.prev_hash <> ''::bytea OR s.txid_lo <> '0'::xid8))
           OR (s.batch > 1 AND (s.prev_hash <> prev.hash OR s.txid_lo <> prev.txid_hi)) THEN
            problem := format('batch %s does not link to the batch before it', s.batch);
            RETURN NEXT; RETURN;
        END IF;
        IF s.purged_at IS NOT NULL THEN
            -- purged: the link above is all that is left to check, and no
            -- entry may be in its range any more
            SELECT min(l.id) INTO audit_id FROM rowkeeper.audit_log l
             WHERE l.txid >= s.txid_lo AND l.txid < s.txid_hi;
            IF audit_id IS NOT NULL THEN
                problem := format('entry in batch %s, which was purged (inserted afterwards)', s.batch);
                RETURN NEXT; RETURN;
            END IF;
            CONTINUE;
        END IF;
        IF s.hash <> pg_catalog.sha256(s.prev_hash || s.digests)
           OR pg_catalog.octet_length(s.digests) <> 32 * s.entries THEN
            problem := format('batch %s: its hash does not match its digests', s.batch);
            RETURN NEXT; RETURN;
        END IF;
        i := 0;
        -- v2 batches: each entry under its salt; v1 batches: v1, and an
        -- erased entry as its erasure record vouches for it (_erased_problem)
        FOR e IN SELECT l.id, l.erased, l.actor,
                        CASE WHEN s.salts IS NOT NULL
                             THEN rowkeeper.audit_entry_digest(l, pg_catalog.substr(s.salts,
                                      (16 * (pg_catalog.row_number() OVER (ORDER BY l.id) - 1) + 1)::int, 16))
                             WHEN l.erased IS NOT NULL THEN rowkeeper.audit_entry_digest(l, NULL)
                             ELSE rowkeeper.audit_entry_digest(l) END AS d
                   FROM rowkeeper.audit_log l
                  WHERE l.txid >= s.txid_lo AND l.txid < s.txid_hi
                  ORDER BY l.id LOOP
            IF i >= s.entries THEN
                problem := 'entry not in the sealed batch (inserted after sealing)';
                audit_id := e.id;
                RETURN NEXT; RETURN;
            END IF;
            IF e.erased IS NOT NULL THEN
                problem := rowkeeper._erased_problem(e.id, e.erased, e.actor, e.d,
                                                     pg_catalog.substr(s.digests, (32 * i + 1)::int, 32),
                                                     s.salts IS NULL);
                IF problem IS NOT NULL THEN
                    audit_id := e.id;
                    RETURN NEXT; RETURN;
                END IF;
            END IF;
            IF (e.erased IS NULL OR s.salts IS NOT NULL)
               AND e.d <> pg_catalog.substr(s.digests, (32 * i + 1)::int, 32) THEN
                -- a later position's digest (under that position's salt in a v2 batch)
                problem := CASE
                    WHEN (s.salts IS NULL AND e.d = ANY (ARRAY(SELECT pg_catalog.substr(s.digests, (32 * k + 1)::int, 32)
                                                              FROM pg_catalog.generate_series(i + 1, s.entries - 1) k)))
                      OR (s.salts IS NOT NULL AND EXISTS (
                            SELECT FROM rowkeeper.audit_log l, pg_catalog.generate_series(i + 1, s.entries - 1) k
                             WHERE l.id = e.id AND l.txid >= s.txid_lo AND l.txid < s.txid_hi
                               AND rowkeeper.audit_entry_digest(l, pg_catalog.substr(s.salts, (16 * k + 1)::int, 16))
                                   = pg_catalog.substr(s.digests, (32 * k + 1)::int, 32)))
                    THEN 'sealed entries before this one are missing (deleted)'
                    ELSE 'entry does not match its sealed digest (edited, or its id changed)' END;
                audit_id := e.id;
                RETURN NEXT; RETURN;
            END IF;
            i := i + 1;
            verified := verified + 1;
        END LOOP;
        IF i < s.entries THEN
            problem := format('batch %s: %s of its sealed entries missing at its end (deleted)', s.batch, s.entries - i);
            RETURN NEXT; RETURN;
        END IF;
    END LOOP;
    batch := NULL;
    RETURN NEXT;
END;
$$;

COMMENT ON FUNCTION rowkeeper.verify_audit_chain(timestamptz, timestamptz, text) IS
'Verify the audit hash chain (batches sealed in [since, until], all by default): links, batch hashes and every entry. Reports entries verified, the first problem and where, and the unsealed tail. With expected_head (from audit_chain_head(), kept outside), a rewritten chain is caught too.';
