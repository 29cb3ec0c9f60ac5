-- contracts: what one side owns and the other relies on, checked against
-- each other (issue 21: one owner per contract).

-- The audit log's columns: src/audit_log.c owns the list the writer fills;
-- rowkeeper.audit_log (SQL) has exactly those, with the same types, and id.
SELECT cardinality(names) AS writer_columns FROM rowkeeper._audit_log_columns();
SELECT coalesce(w.name, t.attname) AS column_name, w.type AS writer_type, t.atttypid::regtype AS table_type
  FROM (SELECT x.name, x.type
          FROM rowkeeper._audit_log_columns() c,
               unnest(c.names, c.types) AS x(name, type)) w
  FULL JOIN (SELECT a.attname::text AS attname, a.atttypid
               FROM pg_attribute a
              WHERE a.attrelid = 'rowkeeper.audit_log'::regclass
                AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> 'id') t
    ON t.attname = w.name
 WHERE w.type IS DISTINCT FROM t.atttypid::regtype
 ORDER BY 1;

-- Trigger options: one parser (src/catalog_util.c), which the triggers use
-- and SQL calls.  key=value, the key exactly; the last one wins.
SELECT rowkeeper._trigger_option('{skip_noop=false,skip_noop=true}', 'skip_noop') AS last_wins,
       rowkeeper._trigger_option('{skip_noopx=1,skip_noop}', 'skip_noop') AS no_value,
       rowkeeper._trigger_option('{col,by=,batch=b}', 'by') AS empty_value,
       rowkeeper._trigger_option('{exclude=a=b}', 'exclude') AS value_with_equals;
SELECT rowkeeper._trigger_option_list('{exclude=b,redact=c,exclude=a}', 'exclude') AS in_order,
       rowkeeper._trigger_option_list('{redact=c}', 'exclude') AS none,
       rowkeeper._trigger_option_list('{exclude=a,NULL}', 'exclude') AS null_skipped;

-- ... and no function or view of the extension splits one itself.
SELECT p.oid::regprocedure::text AS parses_options_in_sql
  FROM pg_proc p
 WHERE p.pronamespace = 'rowkeeper'::regnamespace
   AND p.prosrc ~* 'LIKE\s+''[a-z_\\]+=%'''
UNION ALL
SELECT c.oid::regclass::text
  FROM pg_class c
 WHERE c.relnamespace = 'rowkeeper'::regnamespace AND c.relkind = 'v'
   AND pg_get_viewdef(c.oid) ~* '(LIKE|~~)\s+''[a-z_\\]+=%''';

-- The views read the options as the trigger does.  (UTC: enable_audit
-- makes the log's monthly partitions, as the other audit tests do.)
SET TimeZone = 'UTC';
CREATE TABLE contracts_t (id int PRIMARY KEY, a int, b int, c int, updated_at timestamptz);
SELECT rowkeeper.enable_audit('contracts_t', exclude_columns => '{c,a}', redact_columns => '{b}',
                              skip_noop => false, require_actor => true);
SELECT exclude_columns, redact_columns, skip_noop, require_actor
  FROM rowkeeper.audited_tables WHERE table_name = 'contracts_t'::regclass;
SELECT rowkeeper.enable_updated_at('contracts_t', clock => 'statement', keep_explicit => true);
SELECT column_name, clock, keep_explicit, skip_noop, skip_stamp_only
  FROM rowkeeper.updated_at_tables WHERE table_name = 'contracts_t'::regclass;
DROP TABLE contracts_t;
-- A repeated option (only a hand-made trigger has one): the view shows what
-- the trigger does, the last one (audit.c:parse_audit_options).  No row is
-- written here: the audit tests count the log's ids from 1.
CREATE TABLE contracts_h (id int PRIMARY KEY, v int);
CREATE TRIGGER rowkeeper_audit AFTER INSERT OR UPDATE OR DELETE ON contracts_h
    FOR EACH ROW EXECUTE FUNCTION rowkeeper.audit_trigger('skip_noop=true', 'skip_noop=false');
SELECT skip_noop FROM rowkeeper.audited_tables WHERE table_name = 'contracts_h'::regclass;
DROP TABLE contracts_h;
RESET TimeZone;

-- Settings: every rowkeeper.* GUC (src/guc.c defines them all; README's
-- Settings table lists them).  rowkeeper.tenant_key is hidden from
-- pg_settings (GUC_NO_SHOW_ALL) and shown here separately.
LOAD 'rowkeeper';
SELECT name, vartype, boot_val, context, enumvals
  FROM pg_settings WHERE name LIKE 'rowkeeper.%' ORDER BY name;
SELECT current_setting('rowkeeper.tenant_key') = '' AS tenant_key_empty;
