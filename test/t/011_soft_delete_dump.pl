# 011_soft_delete_dump.pl: a database with soft-delete tables survives
# pg_dump / pg_restore: the tables under their own names with the hiding
# policy and forced row-level security, the guard with its configuration,
# the cascade trigger (on the referenced tables only, and pg_restore, serial
# or parallel, runs through the event trigger that keeps it so without an
# error), the deleted rows with their batch ids,
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
    CREATE TABLE reply (id int PRIMARY KEY, reply_to int REFERENCES reply ON DELETE CASCADE);
    SELECT rowkeeper.enable_soft_delete('reply');
    SELECT rowkeeper.enable_soft_delete('child');
    SELECT rowkeeper.enable_soft_delete('parent', deleted_by_column => 'deleted_by');
    CREATE ROLE sd_app;
    GRANT SELECT ON child TO sd_app;
    LOAD 'rowkeeper';
    DELETE FROM child WHERE id = 11;
    DELETE FROM parent WHERE id = 1;
});

my $dump = $node->basedir . '/db.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ],
    'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE copy');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('copy'), $dump ],
    'pg_restore');

$node->safe_psql('postgres', 'CREATE DATABASE copy_parallel');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-j', '2', '-d', $node->connstr('copy_parallel'), $dump ],
    'parallel pg_restore');

sub in_copy { return $node->safe_psql('copy', shift) }

my $cascades = q{SELECT string_agg(tgrelid::regclass::text, ' ' ORDER BY tgrelid::regclass::text)
                   FROM pg_trigger WHERE tgname = 'rowkeeper_soft_delete_cascade' AND tgparentid = 0};
is($node->safe_psql('postgres', $cascades), 'parent reply', 'cascade triggers where keys reference the table');
is(in_copy($cascades), 'parent reply', 'cascade triggers restored');
is($node->safe_psql('copy_parallel', $cascades), 'parent reply', 'cascade triggers restored in parallel');

is(in_copy(q{SELECT table_name || ' ' || column_name || ' '
              || coalesce(deleted_by_column::text, '-') || ' ' || batch_column || ' ' || guarded || ' ' || hidden
         FROM rowkeeper.soft_delete_tables ORDER BY 1}),
    "child deleted_at - deleted_batch true true\n"
  . "parent deleted_at deleted_by deleted_batch true true\n"
  . "reply deleted_at - deleted_batch true true",
    'configuration restored');
is(in_copy(q{SELECT string_agg(relname || ':' || relkind::text || ':' || relforcerowsecurity, ' ' ORDER BY relname)
         FROM pg_class WHERE relname IN ('child', 'parent', 'child_with_deleted', 'parent_with_deleted')}),
    'child:r:true parent:r:true',
    'tables under their own names, row-level security forced');
is(in_copy(q{SELECT string_agg(id || ':' || (deleted_at IS NOT NULL), ' ' ORDER BY id) FROM child}),
    '10:true 11:true 20:false', 'deleted rows restored as deleted');
is(in_copy(q{SET ROLE sd_app; SELECT string_agg(id::text, ' ' ORDER BY id) FROM child}),
    '20', 'deleted rows hidden from the application in the copy');

# DELETE works in the copy, with a new batch id
my $before = in_copy('SELECT max(deleted_batch) FROM child');
is(in_copy(q{LOAD 'rowkeeper'; WITH d AS (DELETE FROM parent WHERE id = 2 RETURNING id) SELECT count(*) FROM d}),
    '1', 'DELETE on the restored table reports the row');
ok(in_copy('SELECT deleted_batch FROM parent WHERE id = 2') > $before,
    'batch ids continue after the restore');

# restore takes back exactly what the first deletion took
is(in_copy(q{SELECT rowkeeper.restore('parent', '{"id": 1}')}), '2', 'restore in the copy');
is(in_copy(q{SET ROLE sd_app; SELECT string_agg(id::text, ' ' ORDER BY id) FROM child}), '10',
    'child 11 (deleted on its own) stays deleted; 20 went with parent 2');

# the guard is there too
my ($ret, $out, $err) = $node->psql('copy',
    "LOAD 'rowkeeper'; SET rowkeeper.soft_delete_rewrite = off; DELETE FROM child");
like($err, qr/cannot delete rows of soft-delete table/, 'guard restored');
$node->safe_psql($_, 'DROP OWNED BY sd_app') for qw(copy copy_parallel);
$node->safe_psql('postgres', 'DROP OWNED BY sd_app; DROP ROLE sd_app');

$node->stop;
done_testing();
