-- audit_errors: bad input to enable_audit() is a clear error, nothing is
-- half-installed, and the trigger refuses to run where it makes no sense.
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
CREATE TABLE t (id int PRIMARY KEY, secret text, "camelCol" text);
CREATE TABLE nokey (a int, b text);
CREATE TEMP TABLE tmp (id int PRIMARY KEY);
CREATE VIEW v AS SELECT * FROM t;
CREATE SEQUENCE s;
CREATE FOREIGN DATA WRAPPER rk_dummy_fdw;
CREATE SERVER rk_dummy_server FOREIGN DATA WRAPPER rk_dummy_fdw;
CREATE FOREIGN TABLE ft (id int) SERVER rk_dummy_server;
CREATE ROLE rk_stranger;
\x on
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('v')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('s')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('ft')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('tmp')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('nokey')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('t', exclude_columns => '{nope}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('t', exclude_columns => '{camelcol}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('t', redact_columns => '{id}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('t', exclude_columns => '{secret}', redact_columns => '{secret}')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('t', exclude_columns => NULL)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit(NULL)$$);
SET ROLE rk_stranger;
SELECT * FROM pg_temp.try($$SELECT rowkeeper.enable_audit('t')$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.disable_audit('t')$$);
SELECT * FROM pg_temp.try($$SELECT * FROM rowkeeper.audit_status()$$);
RESET ROLE;
SELECT * FROM pg_temp.try($$SELECT * FROM rowkeeper.create_audit_partitions(-1)$$);
SELECT * FROM pg_temp.try($$SELECT rowkeeper.audit_trigger()$$);
\x off

-- nothing was installed by the failures
SELECT count(*) AS audit_triggers FROM pg_trigger WHERE tgfoid = 'rowkeeper.audit_trigger'::regproc;

-- triggers made by hand with the wrong shape or arguments are refused
CREATE TRIGGER bad BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION rowkeeper.audit_trigger();
INSERT INTO t VALUES (1);
DROP TRIGGER bad ON t;
CREATE TRIGGER bad AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION rowkeeper.audit_trigger('colour=blue');
INSERT INTO t VALUES (1);
DROP TRIGGER bad ON t;
CREATE TRIGGER bad AFTER INSERT ON nokey FOR EACH ROW EXECUTE FUNCTION rowkeeper.audit_trigger();
INSERT INTO nokey VALUES (1);
DROP TRIGGER bad ON nokey;
SELECT count(*) AS nothing_logged FROM rowkeeper.audit_log WHERE table_name IN ('t', 'nokey');

DROP FOREIGN TABLE ft;
DROP SERVER rk_dummy_server;
DROP FOREIGN DATA WRAPPER rk_dummy_fdw;
DROP VIEW v;
DROP SEQUENCE s;
DROP TABLE t, nokey, tmp;
-- A table owner who is not a superuser can enable audit (the partitions of
-- the log are created on its behalf) and its writes are logged.
CREATE ROLE rk_owner;
GRANT CREATE ON SCHEMA public TO rk_owner;
SET ROLE rk_owner;
CREATE TABLE owned (id int PRIMARY KEY, v text);
SELECT rowkeeper.enable_audit('owned');
INSERT INTO owned VALUES (1, 'x');
SELECT * FROM rowkeeper.create_audit_partitions();
RESET ROLE;
SELECT op, row_key, new_row, db_user FROM rowkeeper.audit_log WHERE table_name = 'owned';
DROP TABLE owned;
REVOKE CREATE ON SCHEMA public FROM rk_owner;
DROP ROLE rk_owner;
DROP ROLE rk_stranger;
-- Monthly partitions are calendar months in UTC, whatever the time zone of
-- the session that makes them: sessions fourteen hours ahead of UTC and
-- eleven hours behind it extend the log without overlapping ranges (before:
-- "partition ... would overlap partition ..."), and the ranges leave no gap.
CREATE TEMP TABLE parts_before AS SELECT part FROM rowkeeper._audit_partition_bounds();
SET TimeZone = 'Pacific/Kiritimati';
SELECT count(*) >= 0 AS made FROM rowkeeper.create_audit_partitions(5);
SET TimeZone = 'Pacific/Pago_Pago';
SELECT count(*) >= 0 AS made FROM rowkeeper.create_audit_partitions(7);
-- the bounds read back in a zone whose abbreviation (SST) is not a known one
SELECT count(*) > 0 AS bounds_read FROM rowkeeper._audit_partition_bounds();
RESET TimeZone;
SELECT to_regclass('rowkeeper.audit_log_' ||
                   to_char((now() AT TIME ZONE 'UTC') + interval '7 months', '"y"YYYY"m"MM')) IS NOT NULL
       AS seventh_month_named_in_utc;
SELECT count(*) FILTER (WHERE lower_bound <> prev_upper) AS gaps_or_overlaps,
       count(*) FILTER (WHERE upper_bound <= lower_bound) AS empty_ranges
  FROM (SELECT lower_bound, upper_bound, lag(upper_bound) OVER (ORDER BY lower_bound) AS prev_upper
          FROM rowkeeper._audit_partition_bounds()) b
 WHERE prev_upper IS NOT NULL;
-- A partition made before the boundaries were UTC, by a session in New
-- York, is kept; the next month starts where it ends, and no range
-- overlaps another.
SET TimeZone = 'America/New_York';
DO $$
DECLARE
    m date := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '9 months')::date;
BEGIN
    EXECUTE format('CREATE TABLE rowkeeper.%I PARTITION OF rowkeeper.audit_log FOR VALUES FROM (%L) TO (%L)',
                   'audit_log_' || to_char(m, '"y"YYYY"m"MM'), m::timestamptz, (m + interval '1 month')::timestamptz);
END;
$$;
SELECT count(*) >= 0 AS made FROM rowkeeper.create_audit_partitions(10);
SELECT b.lower_bound = n.upper_bound AS tenth_month_starts_where_new_york_ninth_ends,
       b.upper_bound = date_trunc('month', b.upper_bound AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS tenth_month_ends_at_utc_midnight
  FROM rowkeeper._audit_partition_bounds() b, rowkeeper._audit_partition_bounds() n
 WHERE b.part = ('rowkeeper.audit_log_' || to_char((now() AT TIME ZONE 'UTC') + interval '10 months', '"y"YYYY"m"MM'))::regclass
   AND n.part = ('rowkeeper.audit_log_' || to_char((now() AT TIME ZONE 'UTC') + interval '9 months', '"y"YYYY"m"MM'))::regclass;
SELECT count(*) FILTER (WHERE lower_bound < prev_upper) AS overlaps
  FROM (SELECT lower_bound, lag(upper_bound) OVER (ORDER BY lower_bound) AS prev_upper
          FROM rowkeeper._audit_partition_bounds()) b;
RESET TimeZone;
-- the partitions made here go again (later tests read plans over the log)
DO $$
DECLARE
    p regclass;
BEGIN
    FOR p IN SELECT part FROM rowkeeper._audit_partition_bounds() EXCEPT SELECT part FROM parts_before LOOP
        EXECUTE format('DROP TABLE %s', p);
    END LOOP;
END;
$$;
DROP TABLE parts_before;
