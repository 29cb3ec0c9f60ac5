
-- src/sql/21_soft_delete_cascade.sql -- Copyright (c) 2026, rowkeeper developers
------------------------------------------------------------------------------
-- Soft delete: the cascade trigger only where a foreign key references the
-- table (issue 16, performance)
--
-- The trigger rowkeeper_soft_delete_cascade (AFTER UPDATE OF deleted_at,
-- src/soft_delete.c) follows the foreign keys that reference a soft-delete
-- table.  On a table that no foreign key references it has nothing to do,
-- but its mere presence costs every marking: PostgreSQL fetches the old row
-- again for any AFTER UPDATE row trigger and copies the trigger's
-- definition into every statement's result relation (3.7k of the 116k
-- instructions a prepared single-row soft DELETE cost with it, callgrind).
-- So a table has it exactly while a foreign key references it (a Citus table
-- has it always, see _soft_delete_sync_cascade() for why):
--   rowkeeper._soft_delete_sync_cascade(tbl)  creates or drops it to match;
--     enable_soft_delete() calls it.
--   event trigger rowkeeper_soft_delete_fkeys  (ddl_command_end, ENABLE
--     ALWAYS) calls it after DDL that can add or remove a foreign key
--     (CREATE TABLE ... REFERENCES, ALTER TABLE ADD / DROP CONSTRAINT,
--     ATTACH PARTITION, DROP TABLE, CREATE SCHEMA with tables, DDL run from
--     functions and DO blocks, as migration tools do), for every soft-delete
--     table whose trigger does not match, as the table's owner in a
--     security-restricted operation (src/soft_delete.c).
-- The event trigger does nothing while row_security is off, as pg_restore
-- and pg_dump scripts run: the dump carries the triggers as they were, and
-- a parallel restore would otherwise race its own CREATE TRIGGER.
-- When event triggers do not run (single-user mode, the event trigger
-- disabled, row_security off), nothing is missed silently: a DELETE on a referenced table
-- without the trigger, and a cascade into such a table, are refused with a
-- hint to call enable_soft_delete() again (src/soft_delete_rewrite.c,
-- src/soft_delete.c).
------------------------------------------------------------------------------

/*
 * Create or drop the cascade trigger of soft-delete table tbl so that it
 * exists exactly while a foreign key references tbl (on a Citus table:
 * always), with the current deleted_at column.  Returns whether the table now has it.  Needs the
 * rights to create and drop triggers on tbl (its owner).
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_sync_cascade(tbl regclass)
RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cfg record;
    want boolean;
    old record;
    have boolean;
    locked boolean := false;
    is_citus boolean;
    unsafe_triggers text;
BEGIN
    cfg := rowkeeper._soft_delete_config(tbl);
    is_citus := (rowkeeper._citus_distribution_column(tbl)).is_citus;
    LOOP
        -- A Citus table has it from enable_soft_delete() on, referenced or
        -- not: made from the event trigger, in the middle of the ALTER
        -- TABLE ... ADD FOREIGN KEY that Citus is sending to the shards, its
        -- CREATE TRIGGER would lock the referenced shards over one worker
        -- connection and the foreign key's DDL wait for them over another
        -- (a distributed deadlock).  On the shards it costs a marking what
        -- it costs on one node (no key to follow: one hash lookup per row).
        want := cfg.column_name IS NOT NULL
                AND (is_citus OR EXISTS (SELECT FROM pg_catalog.pg_constraint c
                                          WHERE c.contype = 'f' AND c.confrelid = tbl));
        -- (tgattr is an int2vector, subscripted from 0)
        SELECT t.tgattr[0] AS attnum, pg_catalog.array_length(t.tgattr::int2[], 1) AS nattrs,
               t.tgtype, t.tgfoid, t.tgenabled INTO old
          FROM pg_catalog.pg_trigger t
         WHERE t.tgrelid = tbl AND t.tgname = 'rowkeeper_soft_delete_cascade' AND t.tgparentid = 0;
        have := FOUND;
        IF have AND want AND old.tgtype = (1 | 16) AND old.tgenabled IN ('O', 'A')
           AND old.tgfoid = 'rowkeeper.soft_delete_trigger()'::pg_catalog.regprocedure
           AND old.nattrs = 1
           AND old.attnum = (SELECT a.attnum FROM pg_catalog.pg_attribute a
                              WHERE a.attrelid = tbl AND a.attname = cfg.column_name) THEN
            RETURN true;
        END IF;
        IF NOT have AND NOT want THEN
            RETURN false;
        END IF;
        -- a change is due: lock out concurrent ones (another session's event
        -- trigger may be making the same), then look again.  Not on a Citus
        -- table: Citus would take the lock on every node, inside the DDL it
        -- is sending them (a DROP TABLE of a referencing table waited on
        -- itself); CREATE TRIGGER's duplicate_object below covers the race
        EXIT WHEN locked OR is_citus;
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tbl);
        locked := true;
    END LOOP;
    -- on a Citus table: triggers need citus.enable_unsafe_triggers
    unsafe_triggers := rowkeeper._citus_allow_triggers();
    IF have THEN    -- IF EXISTS: gone meanwhile, for a snapshot older than the lock
        EXECUTE format('DROP TRIGGER IF EXISTS rowkeeper_soft_delete_cascade ON %s', tbl);
    END IF;
    IF want THEN
        BEGIN
            EXECUTE format('CREATE TRIGGER rowkeeper_soft_delete_cascade AFTER UPDATE OF %I ON %s FOR EACH ROW '
                           'WHEN (OLD.%I IS NULL AND NEW.%I IS NOT NULL) '
                           'EXECUTE FUNCTION rowkeeper.soft_delete_trigger()',
                           cfg.column_name, tbl, cfg.column_name, cfg.column_name);
        EXCEPTION WHEN duplicate_object THEN
            NULL;   -- made meanwhile by a transaction this snapshot does not see
        END;
    END IF;
    PERFORM rowkeeper._citus_allow_triggers(unsafe_triggers);
    RETURN want;
END;
$$;

COMMENT ON FUNCTION rowkeeper._soft_delete_sync_cascade(regclass) IS
'Internal: give a soft-delete table its cascade trigger (rowkeeper_soft_delete_cascade) exactly while a foreign key references it.';

/*
 * The event trigger: after DDL that may add or remove a foreign key, every
 * soft-delete table (guard trigger and hiding policy in place) whose cascade
 * trigger does not match its foreign keys is brought in line by
 * _soft_delete_sync_cascade(), as its owner (src/soft_delete.c).  Tables
 * that are not fully set up are left alone, so that pg_restore, which
 * creates the triggers before the foreign keys and the policies after
 * them, restores what was dumped.
 */
CREATE OR REPLACE FUNCTION rowkeeper._soft_delete_fkeys_changed()
RETURNS event_trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'soft_delete_fkeys_changed';

COMMENT ON FUNCTION rowkeeper._soft_delete_fkeys_changed() IS
'Internal event trigger: soft-delete tables get their cascade trigger when a foreign key starts referencing them, and lose it when none does any more.';

-- STATE BEGIN
CREATE EVENT TRIGGER rowkeeper_soft_delete_fkeys ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'DROP TABLE', 'CREATE SCHEMA', 'DROP SCHEMA',
                 'DROP OWNED', 'CREATE EXTENSION', 'ALTER EXTENSION', 'DROP EXTENSION')
    EXECUTE FUNCTION rowkeeper._soft_delete_fkeys_changed();
ALTER EVENT TRIGGER rowkeeper_soft_delete_fkeys ENABLE ALWAYS;
-- STATE END
