# 011_soft_delete_dump.pl: a database with soft-delete tables survives
# pg_dump / pg_restore: the view (security_invoker), its INSTEAD OF trigger,
# the guard with its configuration, the deleted rows with their batch ids,
# and the batch sequence (new deletions get new batch ids, so a restore
# never takes back rows of an older deletion).
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
    CREATE TABLE parent (id int PRIMARY KEY, name text);
    CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent ON DELETE CASCADE);
    INSERT INTO parent VALUES (1, 'a'), (2, 'b');
    INSERT INTO child VALUES (10, 1), (11, 1), (20, 2);
    SELECT rowkeeper.enable_soft_delete('child');
    SELECT rowkeeper.enable_soft_delete('parent', deleted_by_column => 'deleted_by');
    DELETE FROM child WHERE id = 11;
    DELETE FROM parent WHERE id = 1;
});

my $dump = $node->basedir . '/db.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ],
    'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE copy');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('copy'), $dump ],
    'pg_restore');

sub in_copy { return $node->safe_psql('copy', shift) }

is(in_copy(q{SELECT view_name || ' ' || table_name || ' ' || column_name || ' '
              || coalesce(deleted_by_column::text, '-') || ' ' || batch_column
         FROM rowkeeper.soft_delete_tables ORDER BY 1}),
    "child child_with_deleted deleted_at - deleted_batch\n"
  . "parent parent_with_deleted deleted_at deleted_by deleted_batch",
    'configuration restored');
is(in_copy(q{SELECT string_agg(relname || ':' || array_to_string(reloptions, ','), ' ' ORDER BY relname)
         FROM pg_class WHERE relname IN ('child', 'parent')}),
    'child:security_invoker=true parent:security_invoker=true',
    'views are security_invoker');
is(in_copy(q{SELECT string_agg(id || ':' || (deleted_at IS NOT NULL), ' ' ORDER BY id) FROM child_with_deleted}),
    '10:true 11:true 20:false', 'deleted rows restored as deleted');

# the trigger works in the copy, with a new batch id
my $before = in_copy('SELECT max(deleted_batch) FROM child_with_deleted');
is(in_copy(q{WITH d AS (DELETE FROM parent WHERE id = 2 RETURNING id) SELECT count(*) FROM d}),
    '1', 'DELETE on the restored view reports the row');
ok(in_copy('SELECT deleted_batch FROM parent_with_deleted WHERE id = 2') > $before,
    'batch ids continue after the restore');

# restore takes back exactly what the first deletion took
is(in_copy(q{SELECT rowkeeper.restore('parent', '{"id": 1}')}), '2', 'restore in the copy');
is(in_copy(q{SELECT string_agg(id::text, ' ' ORDER BY id) FROM child}), '10',
    'child 11 (deleted on its own) stays deleted; 20 went with parent 2');

# the guard is there too
my ($ret, $out, $err) = $node->psql('copy', 'DELETE FROM child_with_deleted');
like($err, qr/cannot delete rows of soft-delete table/, 'guard restored');

$node->stop;
done_testing();
