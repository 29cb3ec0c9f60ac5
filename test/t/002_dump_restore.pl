# 002_dump_restore.pl: the audit trail survives pg_dump / pg_restore into a
# new database.  Log entries (every partition, including the default one),
# the id sequence and the audit triggers come back; history is found by
# schema, table and key although every table has a new OID; new entries
# continue the ids; and a data-only restore into audited tables is itself
# audited unless triggers are disabled (the documented evasion path).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE TABLE posts (id int PRIMARY KEY, title text, body jsonb);
    SELECT rowkeeper.enable_audit('posts', exclude_columns => '{body}');
    CREATE TABLE bulk (id int PRIMARY KEY, v int);
    SELECT rowkeeper.enable_audit('bulk', mode => 'statement');
    BEGIN;
    SELECT rowkeeper.set_context(actor => 'alice');
    INSERT INTO posts VALUES (1, 'hello', '{"a": 1}'), (2, 'second', '{}');
    UPDATE posts SET title = 'hello, world' WHERE id = 1;
    DELETE FROM posts WHERE id = 2;
    INSERT INTO bulk SELECT g, g FROM generate_series(1, 100) g;
    COMMIT;
    -- an entry in the default partition too (as if its month had no partition)
    INSERT INTO rowkeeper.audit_log_default (logged_at, txid, table_oid, schema_name, table_name, op,
                                             row_key, row_ref, db_user, role_user, session_user_name)
    VALUES ('1999-12-31', '1', 0, 'public', 'posts', 'UPDATE', '{"id": 1}',
            rowkeeper.row_ref('public', 'posts', '{"id": 1}'), 'x', 'x', 'x');
});

my $summary = q{
    SELECT count(*) || ' entries, ' || count(DISTINCT tableoid) || ' partitions, max id ' || max(id)
      FROM rowkeeper.audit_log
};
my $history = q{
    SELECT string_agg(op || coalesce(' ' || (new_row->>'title'), ''), ', ' ORDER BY id)
      FROM rowkeeper.audit_log
     WHERE row_ref = rowkeeper.row_ref('public', 'posts', '{"id": 1}')
       AND schema_name = 'public' AND table_name = 'posts' AND row_key = '{"id": 1}'
};
my $before_summary = $node->safe_psql('postgres', $summary);
my $before_history = $node->safe_psql('postgres', $history);
like($before_summary, qr/^105 entries, 2 partitions/, 'log before the dump');

my $dump = $node->basedir . '/all.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ],
    'pg_dump of a database with rowkeeper');

$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ],
    'pg_restore into a new database, without errors');

is($node->safe_psql('restored', $summary), $before_summary,
    'every log entry, in every partition, came back with its id');
is($node->safe_psql('restored', $history), $before_history,
    'history of a row is found by schema, table and key after the restore');
isnt($node->safe_psql('restored', q{SELECT 'posts'::regclass::oid}),
     $node->safe_psql('postgres', q{SELECT 'posts'::regclass::oid}),
     'the table has a new OID (history does not depend on it)');
is($node->safe_psql('restored', q{
        SELECT string_agg(table_name::text || ':' || mode, ' ' ORDER BY table_name::text)
          FROM rowkeeper.audited_tables}),
    'bulk:statement posts:row', 'audit triggers restored in their modes');

# Auditing goes on in the restored database, with ids after the old ones.
my $old_max = $node->safe_psql('restored', 'SELECT max(id) FROM rowkeeper.audit_log');
$node->safe_psql('restored', q{
    UPDATE posts SET title = 'restored' WHERE id = 1;
    UPDATE bulk SET v = 0 WHERE id <= 3;
});
is($node->safe_psql('restored', "SELECT count(*) FROM rowkeeper.audit_log WHERE id > $old_max"),
    '4', 'new entries after the restore continue the ids');
like($node->safe_psql('restored', $history), qr/, UPDATE restored$/,
    'history continues on the restored table');

# pg_restore --data-only into an audited schema: the restored rows are
# logged as INSERTs (triggers fire), unless --disable-triggers (superuser)
# switches them off: that path is documented, not hidden.
$node->safe_psql('postgres', 'CREATE DATABASE dataonly');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--schema-only', '-d', $node->connstr('dataonly'), $dump ],
    'schema restored');
$node->safe_psql('dataonly', 'TRUNCATE rowkeeper.audit_log');
$node->command_ok([ 'pg_restore', '--data-only', '--table=posts', '-d', $node->connstr('dataonly'), $dump ],
    'data-only restore of an audited table');
is($node->safe_psql('dataonly', q{SELECT count(*) FROM rowkeeper.audit_log WHERE table_name = 'posts' AND op = 'INSERT'}),
    '1', 'a data-only restore is audited (one restored row, one INSERT entry)');
$node->safe_psql('dataonly', 'TRUNCATE posts, rowkeeper.audit_log');
$node->command_ok([ 'pg_restore', '--data-only', '--disable-triggers', '--table=posts', '-d', $node->connstr('dataonly'), $dump ],
    'data-only restore with --disable-triggers');
is($node->safe_psql('dataonly', q{SELECT count(*) FROM posts}) . ' rows, ' .
   $node->safe_psql('dataonly', q{SELECT count(*) FROM rowkeeper.audit_log WHERE table_name = 'posts' AND op = 'INSERT'}) . ' entries',
    '1 rows, 0 entries', '--disable-triggers restores without audit entries (documented)');

$node->stop;
done_testing();
