# 010_soft_delete_client.pl: a real client (node-postgres) sees a DELETE on a
# soft-delete table as a DELETE: command "DELETE", rowCount 1 for one live
# row, the row from RETURNING, over both the simple and the extended
# protocol (prepared statements included), both through the fast path
# (rowkeeper preloaded: the DELETE runs as the marking UPDATE) and through
# the view's trigger (rowkeeper.soft_delete_rewrite = off).  node and npm come from Debian
# (test/check.sh installs them); the pg package is installed from the npm
# registry into a temporary directory, at the version test/client/package.json
# pins.
use strict;
use warnings;
use Cwd;
use File::Copy;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $client = getcwd() . "/test/client";
my $work = PostgreSQL::Test::Utils::tempdir;
copy("$client/package.json", "$work/package.json") or die "copy: $!";
copy("$client/soft_delete.js", "$work/soft_delete.js") or die "copy: $!";
my ($ok, $stdout, $stderr) = (0, '', '');
$ok = IPC::Run::run(['npm', 'install', '--no-audit', '--no-fund', '--loglevel=error'],
                    '>', \$stdout, '2>', \$stderr, init => sub { chdir $work });
ok($ok, 'npm install of node-postgres') or diag("$stdout\n$stderr");

my $node = PostgreSQL::Test::Cluster->new('client');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'rowkeeper'\ntrack_functions = all");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION rowkeeper');

local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGUSER} = $ENV{USER} // 'postgres';
local $ENV{PGDATABASE} = 'postgres';

# run_client(label, fast): a fresh table, then the client; for the trigger
# path the setting is off for the client's role (whatever the driver does
# with PGOPTIONS)
sub run_client
{
    my ($label, $fast) = @_;
    my $options = $fast ? '' : 'off';
    $node->safe_psql('postgres', q{
        DROP TABLE IF EXISTS users_with_deleted CASCADE;
        CREATE TABLE users (id int PRIMARY KEY, email text);
        INSERT INTO users SELECT i, 'u' || i || '@x' FROM generate_series(1, 6) i;
        SELECT rowkeeper.enable_soft_delete('users');
    });
    like($node->safe_psql('postgres', 'SET rowkeeper.soft_delete_rewrite = '
                          . ($options ? 'off' : 'on')
                          . '; EXPLAIN (COSTS OFF) DELETE FROM users WHERE id = 1'),
         $options ? qr/^Delete on users/ : qr/^Update on users_with_deleted/,
         "$label: the plan");
    $node->safe_psql('postgres', 'ALTER ROLE CURRENT_USER '
                     . ($fast ? 'RESET rowkeeper.soft_delete_rewrite'
                              : 'SET rowkeeper.soft_delete_rewrite = off'));
    $node->safe_psql('postgres', 'SELECT pg_stat_reset()');
    my ($out, $err) = ('', '');
    IPC::Run::run(['node', "$work/soft_delete.js"], '>', \$out, '2>', \$err)
      or diag("node failed: $err");
    # which path did the work: once the client's statistics are in (its
    # updates of the table), the calls of the view's INSTEAD OF trigger
    ok($node->poll_query_until('postgres',
        "SELECT (SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'users_with_deleted') >= 5"
        . " AND (SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions"
        . "      WHERE funcname = 'soft_delete_trigger') " . ($fast ? '= 0' : '>= 5')),
       "$label: " . ($fast ? 'the trigger never ran' : 'the trigger marked the rows'));
    chomp $out;
    is($out,
        '{"extended":{"command":"DELETE","rowCount":1},'
      . '"again":{"command":"DELETE","rowCount":0},'
      . '"returning":{"command":"DELETE","rowCount":1,"rows":[{"id":2,"email":"u2@x","deleted_at":null}]},'
      . '"prepared":{"command":"DELETE","rowCount":2,"ids":[3,4]},'
      . '"prepared_again":{"command":"DELETE","rowCount":1,"ids":[5]},'
      . '"in_tx":{"command":"DELETE","rowCount":1},'
      . '"live":[6],'
      . '"marked":5}',
        "$label: node-postgres sees DELETE n and RETURNING rows on a soft-delete table");

    # the rows are still there, marked
    is($node->safe_psql('postgres',
            'SELECT string_agg(id::text, \',\' ORDER BY id) FROM users_with_deleted WHERE deleted_at IS NOT NULL'),
        '1,2,3,4,5', "$label: deleted rows are kept, marked");
}

run_client('fast path', 1);
run_client('trigger', 0);
$node->safe_psql('postgres', 'ALTER ROLE CURRENT_USER RESET rowkeeper.soft_delete_rewrite');

$node->stop;
done_testing();
