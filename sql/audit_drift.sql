-- audit_drift: a table owner cannot switch auditing off while every check
-- says on (security review finding 5).  Every check compares the whole
-- definition of the audit triggers (timing, events, level, WHEN, columns,
-- arguments, enabled state); enable_audit() repairs; the drift itself is
-- in the log.
SET TimeZone = 'UTC';
CREATE SCHEMA rk_drift;
CREATE ROLE drift_owner;
GRANT USAGE, CREATE ON SCHEMA rk_drift TO drift_owner;
SET ROLE drift_owner;
CREATE TABLE rk_drift.ledger (id int PRIMARY KEY, amount int);
SELECT rowkeeper.enable_audit('rk_drift.ledger', redact_columns => '{amount}');
RESET ROLE;
CREATE VIEW drift_log AS
SELECT op, row_key, new_row, role_user FROM rowkeeper.audit_log
 WHERE table_name = 'ledger' ORDER BY id;
CREATE VIEW drift_state AS
SELECT a.enabled, s.row_trigger, s.truncate_trigger, s.problems,
       (SELECT p.status FROM rowkeeper.preflight('{rk_drift}') p
         WHERE p.check_name = 'coverage.audit' AND p.object IS NOT DISTINCT FROM 'rk_drift.ledger') AS preflight
  FROM rowkeeper.audited_tables a, rowkeeper.audit_status() s
 WHERE a.table_name = 'rk_drift.ledger'::regclass AND s.table_name = a.table_name;
SELECT * FROM drift_state;

-- 1. The trigger replaced by one that never fires: WHEN (false).
SET ROLE drift_owner;
DROP TRIGGER rowkeeper_audit ON rk_drift.ledger;
CREATE TRIGGER rowkeeper_audit AFTER INSERT OR UPDATE OR DELETE ON rk_drift.ledger
    FOR EACH ROW WHEN (false)
    EXECUTE FUNCTION rowkeeper.audit_trigger('redact=amount', 'skip_noop=true', 'require_actor=false');
INSERT INTO rk_drift.ledger VALUES (1, 10);
RESET ROLE;
SELECT * FROM drift_state;
SELECT p.status, p.detail, p.fix FROM rowkeeper.preflight('{rk_drift}') p
 WHERE p.check_name = 'coverage.audit';
-- preflight's fix, enable_audit() with the table's options, repairs it,
-- with an entry saying what it found
SELECT p.fix FROM rowkeeper.preflight('{rk_drift}') p WHERE p.check_name = 'coverage.audit' \gset
SET ROLE drift_owner;
:fix
UPDATE rk_drift.ledger SET amount = 11 WHERE id = 1;
RESET ROLE;
SELECT * FROM drift_state;
SELECT * FROM drift_log;

-- 2. ENABLE REPLICA TRIGGER: fires only when session_replication_role is
-- replica, i.e. never for the application.
SET ROLE drift_owner;
ALTER TABLE rk_drift.ledger ENABLE REPLICA TRIGGER rowkeeper_audit;
UPDATE rk_drift.ledger SET amount = 12 WHERE id = 1;
RESET ROLE;
SELECT * FROM drift_state;
SET ROLE drift_owner;
SELECT rowkeeper.enable_audit('rk_drift.ledger', redact_columns => '{amount}');
UPDATE rk_drift.ledger SET amount = 13 WHERE id = 1;
RESET ROLE;
SELECT enabled, row_trigger, problems FROM drift_state;

-- 3. Other shapes that log less than they should: UPDATE OF one column, a
-- BEFORE trigger (refused by the trigger itself at run time), ENABLE ALWAYS
-- on one trigger only.
SET ROLE drift_owner;
DROP TRIGGER rowkeeper_audit ON rk_drift.ledger;
CREATE TRIGGER rowkeeper_audit AFTER INSERT OR UPDATE OF id OR DELETE ON rk_drift.ledger
    FOR EACH ROW EXECUTE FUNCTION rowkeeper.audit_trigger('redact=amount', 'skip_noop=true', 'require_actor=false');
RESET ROLE;
SELECT enabled, row_trigger, problems FROM drift_state;
SET ROLE drift_owner;
DROP TRIGGER rowkeeper_audit ON rk_drift.ledger;
CREATE TRIGGER rowkeeper_audit BEFORE INSERT OR UPDATE OR DELETE ON rk_drift.ledger
    FOR EACH ROW EXECUTE FUNCTION rowkeeper.audit_trigger('redact=amount', 'skip_noop=true', 'require_actor=false');
RESET ROLE;
SELECT enabled, row_trigger, problems FROM drift_state;
SET ROLE drift_owner;
SELECT rowkeeper.enable_audit('rk_drift.ledger', redact_columns => '{amount}');
ALTER TABLE rk_drift.ledger ENABLE ALWAYS TRIGGER rowkeeper_audit_truncate;
RESET ROLE;
SELECT enabled, problems FROM drift_state;
SET ROLE drift_owner;
SELECT rowkeeper.enable_audit('rk_drift.ledger', redact_columns => '{amount}');
RESET ROLE;
SELECT * FROM drift_state;
SELECT op, new_row, role_user FROM drift_log WHERE op LIKE 'AUDIT%';

-- 4. A partition's clone of the trigger switched off on its own.
SET ROLE drift_owner;
CREATE TABLE rk_drift.parted (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE rk_drift.parted_1 PARTITION OF rk_drift.parted FOR VALUES FROM (0) TO (10);
SELECT rowkeeper.enable_audit('rk_drift.parted');
ALTER TABLE rk_drift.parted_1 DISABLE TRIGGER rowkeeper_audit;
RESET ROLE;
SELECT enabled FROM rowkeeper.audited_tables WHERE table_name = 'rk_drift.parted'::regclass;
SELECT problems FROM rowkeeper.audit_status() WHERE table_name = 'rk_drift.parted'::regclass;
SELECT rowkeeper.enable_audit('rk_drift.parted');
SELECT enabled FROM rowkeeper.audited_tables WHERE table_name = 'rk_drift.parted'::regclass;
SELECT op, new_row FROM rowkeeper.audit_log WHERE table_name = 'parted' ORDER BY id;

-- A superuser is trusted with the log itself: its changes are not recorded
-- as drift (pg_restore --disable-triggers runs as one), the checks still
-- report them.
ALTER TABLE rk_drift.parted_1 DISABLE TRIGGER rowkeeper_audit;
SELECT enabled FROM rowkeeper.audited_tables WHERE table_name = 'rk_drift.parted'::regclass;
SELECT count(*) AS new_entries FROM rowkeeper.audit_log WHERE table_name = 'parted' AND op = 'AUDIT_DRIFT';
ALTER TABLE rk_drift.parted_1 ENABLE TRIGGER rowkeeper_audit;

-- 5. Recording drift is not for anyone: only a role that could change the
-- table's triggers, and only drift that is there.
CREATE ROLE drift_stranger;
GRANT USAGE ON SCHEMA rk_drift TO drift_stranger;
SET ROLE drift_stranger;
SELECT rowkeeper._audit_log_drift('rk_drift.ledger', 'AUDIT_DRIFT');
RESET ROLE;
SELECT rowkeeper._audit_log_drift('rk_drift.ledger', 'AUDIT_DRIFT') AS logged_without_drift;
SELECT rowkeeper._audit_log_drift('rk_drift.ledger', 'INSERT');

DROP VIEW drift_state, drift_log;
SELECT rowkeeper.disable_audit('rk_drift.ledger');
SELECT rowkeeper.disable_audit('rk_drift.parted');
DROP SCHEMA rk_drift CASCADE;
DROP ROLE drift_owner, drift_stranger;
