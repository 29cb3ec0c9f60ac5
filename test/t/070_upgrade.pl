# 070_upgrade.pl: ALTER EXTENSION rowkeeper UPDATE from the oldest released
# version gives the same extension as a fresh install, and keeps the data.
#  - database "upgraded": CREATE EXTENSION rowkeeper VERSION '0.1.0', an
#    audited table with updated_at is filled, then ALTER EXTENSION UPDATE
#    runs every upgrade script to the default version;
#  - database "fresh": CREATE EXTENSION rowkeeper, the same table;
#  - compared: the extension's member objects, the functions of schema
#    rowkeeper (definition, settings, SECURITY DEFINER, volatility, ACL),
#    the ACLs of its relations and of the schema, the columns of the audit
#    log, the indexes of the audit log and of its partitions;
#  - the history logged before the upgrade is found by row_history() after
#    it, auditing and updated_at go on, and the hash chain seals and
#    verifies entries from both sides of the upgrade.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my @versions = split /\n/, $node->safe_psql('postgres',
    q{SELECT version FROM pg_available_extension_versions WHERE name = 'rowkeeper' ORDER BY version});
my $oldest  = $versions[0];
my $default = $node->safe_psql('postgres',
    q{SELECT default_version FROM pg_available_extensions WHERE name = 'rowkeeper'});
is($oldest, '0.1.0', 'the oldest released version is 0.1.0');
isnt($oldest, $default, "there is an upgrade to test ($oldest -> $default)");

my $table = q{
    CREATE TABLE items (id int PRIMARY KEY, name text, updated_at timestamptz);
    SELECT rowkeeper.enable_audit('items');
    SELECT rowkeeper.enable_updated_at('items');
};

$node->safe_psql('postgres', 'CREATE DATABASE upgraded');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');

$node->safe_psql('upgraded', qq{
    CREATE EXTENSION rowkeeper VERSION '$oldest';
    $table
});
is($node->safe_psql('upgraded', q{SELECT extversion FROM pg_extension WHERE extname = 'rowkeeper'}),
    $oldest, "installed $oldest");

# Only the current library is built here: the entries the 0.1.0 library
# wrote are written by hand the way it wrote them (0.1.0 columns; INSERT:
# the row, UPDATE: changed columns, DELETE: the old row), in the
# transaction of each change.
$node->safe_psql('upgraded', q{
    ALTER TABLE items DISABLE TRIGGER rowkeeper_audit;
    BEGIN;
    INSERT INTO items VALUES (1, 'one', NULL), (2, 'two', NULL);
    INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op, row_key,
                                     new_row, db_user, role_user, session_user_name)
    SELECT now(), pg_current_xact_id(), 'items'::regclass, 'public', 'items', 'INSERT',
           jsonb_build_object('id', i.id), to_jsonb(i), current_user, current_user, session_user
      FROM items i ORDER BY i.id;
    COMMIT;
    BEGIN;
    UPDATE items SET name = 'uno' WHERE id = 1;
    INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op, row_key,
                                     old_row, new_row, db_user, role_user, session_user_name)
    VALUES (now(), pg_current_xact_id(), 'items'::regclass, 'public', 'items', 'UPDATE', '{"id": 1}',
            '{"name": "one"}', '{"name": "uno"}', current_user, current_user, session_user);
    COMMIT;
    WITH d AS (DELETE FROM items WHERE id = 2 RETURNING *)
    INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op, row_key,
                                     old_row, db_user, role_user, session_user_name)
    SELECT now(), pg_current_xact_id(), 'items'::regclass, 'public', 'items', 'DELETE', '{"id": 2}',
           to_jsonb(d), current_user, current_user, session_user FROM d;
    ALTER TABLE items ENABLE TRIGGER rowkeeper_audit;
});

# Between installing the new package and ALTER EXTENSION UPDATE, the new
# library runs against the old objects: the audit trigger writes the
# columns the old log has (0.1.0 has no row_ref) and goes on auditing.
my ($ret, $out, $err) = $node->psql('upgraded',
    q{INSERT INTO items VALUES (3, 'three', NULL); DELETE FROM items WHERE id = 3;});
is($err, '', 'an audited write before ALTER EXTENSION UPDATE succeeds with the new library');
is($node->safe_psql('upgraded',
        q{SELECT string_agg(op, ', ' ORDER BY id) FROM rowkeeper.audit_log WHERE row_key = '{"id": 3}'}),
    'INSERT, DELETE', 'and is audited into the old log');
my $old_updated_at = $node->safe_psql('upgraded', 'SELECT updated_at FROM items WHERE id = 1');
isnt($old_updated_at, '', "updated_at is maintained under $oldest");

$node->safe_psql('upgraded', 'ALTER EXTENSION rowkeeper UPDATE');
is($node->safe_psql('upgraded', q{SELECT extversion FROM pg_extension WHERE extname = 'rowkeeper'}),
    $default, "ALTER EXTENSION UPDATE reached $default");

$node->safe_psql('fresh', qq{
    CREATE EXTENSION rowkeeper;
    $table
});

# --- the extension itself: upgraded == fresh ----------------------------------
my %compare = (
    'member objects' => q{
        SELECT pg_describe_object(classid, objid, objsubid)
          FROM pg_depend
         WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
           AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'rowkeeper')
         ORDER BY 1},
    'function definitions, settings, security, ACLs' => q{
        SELECT p.oid::regprocedure::text, p.prokind, p.provolatile, p.proparallel, p.proisstrict,
               p.prosecdef, p.proconfig, p.proacl, pg_get_userbyid(p.proowner),
               md5(pg_get_functiondef(p.oid))
          FROM pg_proc p
         WHERE p.pronamespace = 'rowkeeper'::regnamespace
         ORDER BY 1},
    'relation kinds and ACLs' => q{
        SELECT c.relname, c.relkind, c.relacl, c.relrowsecurity, c.relforcerowsecurity
          FROM pg_class c
         WHERE c.relnamespace = 'rowkeeper'::regnamespace
         ORDER BY 1},
    'schema ACL' => q{SELECT nspacl FROM pg_namespace WHERE nspname = 'rowkeeper'},
    'audit log columns' => q{
        SELECT row_number() OVER (ORDER BY a.attnum), a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
          FROM pg_attribute a
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = 'rowkeeper.audit_log'::regclass AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attnum},
    'audit log and partition indexes' => q{
        SELECT i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid), i.indisvalid
          FROM pg_index i
         WHERE i.indrelid IN (SELECT relid FROM pg_partition_tree('rowkeeper.audit_log'))
         ORDER BY 1, 2},
    'constraints of rowkeeper tables' => q{
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
          FROM pg_constraint
         WHERE connamespace = 'rowkeeper'::regnamespace
         ORDER BY 1, 2},
    'views' => q{
        SELECT c.oid::regclass::text, md5(pg_get_viewdef(c.oid))
          FROM pg_class c
         WHERE c.relnamespace = 'rowkeeper'::regnamespace AND c.relkind = 'v'
         ORDER BY 1},
    'configuration tables dumped' => q{
        SELECT unnest(extconfig)::regclass::text FROM pg_extension WHERE extname = 'rowkeeper' ORDER BY 1},
);
for my $what (sort keys %compare) {
    my $fresh    = $node->safe_psql('fresh', $compare{$what});
    my $upgraded = $node->safe_psql('upgraded', $compare{$what});
    isnt($fresh, '', "$what: found in the fresh install");
    is($upgraded, $fresh, "$what: the upgraded install has the same");
}

# the comparison is not blind: a difference on one side only is caught
for my $change (
    [ 'function definitions, settings, security, ACLs', 'FUNCTION rowkeeper.seal_audit_log()' ],
    [ 'relation kinds and ACLs', 'TABLE rowkeeper.audit_log' ]) {
    my ($what, $object) = @$change;
    my $priv = $object =~ /^FUNCTION/ ? 'EXECUTE' : 'SELECT';
    $node->safe_psql('upgraded', "GRANT $priv ON $object TO PUBLIC");
    isnt($node->safe_psql('upgraded', $compare{$what}), $node->safe_psql('fresh', $compare{$what}),
        "$what: a grant on one side only is a difference");
    $node->safe_psql('upgraded', "REVOKE $priv ON $object FROM PUBLIC");
    is($node->safe_psql('upgraded', $compare{$what}), $node->safe_psql('fresh', $compare{$what}),
        "$what: equal again once revoked");
}

# --- the data logged before the upgrade ------------------------------------
my $history = q{
    SELECT string_agg(op || ' ' || coalesce(row_data->>'name', '-'), ', ' ORDER BY audit_id)
      FROM rowkeeper.row_history('items', '{"id": 1}')
};
is($node->safe_psql('upgraded', $history), 'INSERT one, UPDATE uno',
    'row_history() finds what was logged before the upgrade');
is($node->safe_psql('upgraded',
        q{SELECT string_agg(op, ', ' ORDER BY audit_id) FROM rowkeeper.row_history('items', '{"id": 2}')}),
    'INSERT, DELETE', 'and the history of a row deleted before the upgrade');

$node->safe_psql('upgraded', q{UPDATE items SET name = 'eins' WHERE id = 1});
is($node->safe_psql('upgraded', $history), 'INSERT one, UPDATE uno, UPDATE eins',
    'auditing continues after the upgrade');
is($node->safe_psql('upgraded',
        qq{SELECT updated_at > '$old_updated_at' FROM items WHERE id = 1}),
    't', 'updated_at is still maintained');
is($node->safe_psql('upgraded',
        q{SELECT row_data->>'name' FROM rowkeeper.row_history('items', '{"id": 1}') ORDER BY audit_id LIMIT 1}),
    'one', 'row images are rebuilt across the upgrade');

# the hash chain covers entries from before and after the upgrade
# (4 written by hand for 0.1.0, 2 by the new library before the update,
# 1 after it)
is($node->safe_psql('upgraded', q{SELECT entries FROM rowkeeper.seal_audit_log()}),
    '7', 'seal_audit_log() seals the old and the new entries');
is($node->safe_psql('upgraded',
        q{SELECT verified || ' ' || coalesce(problem, 'no problem') FROM rowkeeper.verify_audit_chain()}),
    '7 no problem', 'verify_audit_chain() verifies them');

# the same table in both: the same triggers
my $triggers = q{
    SELECT tgname, pg_get_triggerdef(oid), tgenabled FROM pg_trigger
     WHERE tgrelid = 'items'::regclass ORDER BY 1};
is($node->safe_psql('upgraded', $triggers), $node->safe_psql('fresh', $triggers),
    'a table audited before the upgrade has the triggers of one audited after it');

$node->stop;
done_testing();
