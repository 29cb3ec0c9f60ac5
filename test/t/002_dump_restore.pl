# 002_dump_restore.pl: the audit trail survives pg_dump / pg_restore into a
# new database.  Log entries (every partition, including the default one),
# the id sequence and the audit triggers come back; every table keeps its
# audit identity (table_id) although it has a new OID, so its history is
# found, also what it logged under an earlier name, and a table dropped
# before the dump stays a previous incarnation that a new table of its name
# does not inherit; new entries continue the ids; and a data-only restore
# into audited tables is itself audited unless triggers are disabled (the
# documented evasion path, which leaves an AUDIT_DRIFT entry).
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
                                             row_key, table_id, row_ref, db_user, role_user, session_user_name)
    VALUES ('1999-12-31', '1', 0, 'public', 'posts', 'UPDATE', '{"id": 1}', rowkeeper._audit_table_id('posts'),
            rowkeeper.row_ref(rowkeeper._audit_table_id('posts'), '{"id": 1}'), 'x', 'x', 'x');
    -- a table renamed after it logged, and one dropped before the dump
    CREATE TABLE notes (id int PRIMARY KEY, v text);
    SELECT rowkeeper.enable_audit('notes');
    INSERT INTO notes VALUES (1, 'before the rename');
    ALTER TABLE notes RENAME TO notes_2024;
    UPDATE notes_2024 SET v = 'after the rename';
    CREATE TABLE gone (id int PRIMARY KEY, v text);
    SELECT rowkeeper.enable_audit('gone');
    INSERT INTO gone VALUES (1, 'old incarnation');
    DROP TABLE gone;
});

my $summary = q{
    SELECT count(*) || ' entries, ' || count(DISTINCT tableoid) || ' partitions, max id ' || max(id)
      FROM rowkeeper.audit_log
};
my $history = q{
    SELECT string_agg(op || coalesce(' ' || (new_row->>'title'), ''), ', ' ORDER BY id)
      FROM rowkeeper.audit_log
     WHERE row_ref = rowkeeper.row_ref(rowkeeper._audit_table_id('posts'), '{"id": 1}')
       AND table_id = rowkeeper._audit_table_id('posts') AND row_key = '{"id": 1}'
};
my $ids = q{
    SELECT string_agg(t || ':' || coalesce(rowkeeper._audit_table_id(t)::text, '-'), ' ' ORDER BY t)
      FROM unnest(ARRAY['posts', 'bulk', 'notes_2024']) t
};
my $before_summary = $node->safe_psql('postgres', $summary);
my $before_history = $node->safe_psql('postgres', $history);
my $before_ids = $node->safe_psql('postgres', $ids);
like($before_summary, qr/^108 entries, 2 partitions/, 'log before the dump');

my $dump = $node->basedir . '/all.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ],
    'pg_dump of a database with rowkeeper');

$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ],
    'pg_restore into a new database, without errors');

is($node->safe_psql('restored', $summary), $before_summary,
    'every log entry, in every partition, came back with its id');
is($node->safe_psql('restored', $ids), $before_ids,
    'every audited table has its audit identity back after the restore');
is($node->safe_psql('restored', $history), $before_history,
    'history of a row is found by its table identity and key after the restore');
is($node->safe_psql('restored', q{
        SELECT string_agg(op || ' ' || (row_data->>'v'), ', ' ORDER BY audit_id)
          FROM rowkeeper.row_history('notes_2024', '{"id": 1}')}),
    'INSERT before the rename, UPDATE after the rename',
    'a table renamed before the dump keeps what it logged under its old name');
# a table created under a name another table had: a new history
$node->safe_psql('restored', q{
    CREATE TABLE gone (id int PRIMARY KEY, v text);
    SELECT rowkeeper.enable_audit('gone');
    INSERT INTO gone VALUES (1, 'new table');
    CREATE TABLE notes (id int PRIMARY KEY, v text);
    SELECT rowkeeper.enable_audit('notes');
    INSERT INTO notes VALUES (1, 'new table');
});
is($node->safe_psql('restored', q{
        SELECT (SELECT string_agg(row_data->>'v', ', ') FROM rowkeeper.row_history('gone', '{"id": 1}')) || '; ' ||
               (SELECT string_agg(row_data->>'v', ', ') FROM rowkeeper.row_history('notes', '{"id": 1}')) || '; ' ||
               (SELECT string_agg((dropped_at IS NOT NULL)::text, ',' ORDER BY table_id)
                  FROM rowkeeper.audit_incarnations WHERE table_name = 'gone')}),
    'new table; new table; true,false',
    'a new table under a dropped or a renamed table\'s name starts its own history; the dropped one stays a previous incarnation');
isnt($node->safe_psql('restored', q{SELECT 'posts'::regclass::oid}),
     $node->safe_psql('postgres', q{SELECT 'posts'::regclass::oid}),
     'the table has a new OID (history does not depend on it)');
is($node->safe_psql('restored', q{
        SELECT string_agg(table_name::text || ':' || mode, ' ' ORDER BY table_name::text)
          FROM rowkeeper.audited_tables}),
    'bulk:statement gone:row notes:row notes_2024:row posts:row', 'audit triggers restored in their modes');

# Auditing goes on in the restored database, with ids after the old ones.
my $old_max = $node->safe_psql('restored', 'SELECT max(id) FROM rowkeeper.audit_log');
$node->safe_psql('restored', q{
    UPDATE posts SET title = 'restored' WHERE id = 1;
    UPDATE bulk SET v = 0 WHERE id <= 3;
});
is($node->safe_psql('restored', "SELECT count(*) FROM rowkeeper.audit_log WHERE id > $old_max AND table_name IN ('posts', 'bulk')"),
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
