# 010_soft_delete_client.pl: a real client (node-postgres), connected as an
# application role, sees a DELETE on a soft-delete table as a DELETE: command
# "DELETE", rowCount 1 for one live row, the row from RETURNING, over both the
# simple and the extended protocol (prepared statements included), with the
# library loaded by session_preload_libraries (ALTER DATABASE, no restart)
# and by shared_preload_libraries; the deleted rows are hidden from it and
# kept.  Without the library a first DELETE is refused, naming the setting.
# node and npm come from Debian (test/check.sh installs them); the pg package
# is installed from the npm registry into a temporary directory, at the
# version test/client/package.json pins.
use strict;
use warnings;
use Cwd;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use RowkeeperNode;
use Test::More;

my $work = copy_project(getcwd() . "/test/client", ['package.json', 'soft_delete.js']);
npm_install($work, 'node-postgres');

my $node = PostgreSQL::Test::Cluster->new('client');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION rowkeeper; CREATE ROLE app LOGIN');

local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGDATABASE} = 'postgres';

# run_client(label): a fresh table, then the client as the application
sub run_client
{
    my ($label) = @_;
    $node->safe_psql('postgres', q{
        DROP TABLE IF EXISTS users CASCADE;
        CREATE TABLE users (id int PRIMARY KEY, email text);
        INSERT INTO users SELECT i, 'u' || i || '@x' FROM generate_series(1, 6) i;
        SELECT rowkeeper.enable_soft_delete('users');
        GRANT SELECT, INSERT, UPDATE, DELETE ON users TO app;
    });
    like($node->safe_psql('postgres', 'EXPLAIN (COSTS OFF) DELETE FROM users WHERE id = 1'),
         qr/^Update on users/, "$label: the plan");
    my ($out, $err) = ('', '');
    {
        my $ran;
        ($ran, $out, $err) = node_run($work, { PGUSER => 'app' }, "$work/soft_delete.js");
        $ran or diag("node failed: $err");
    }
    chomp $out;
    is($out,
        '{"extended":{"command":"DELETE","rowCount":1},'
      . '"again":{"command":"DELETE","rowCount":0},'
      . '"returning":{"command":"DELETE","rowCount":1,"rows":[{"id":2,"email":"u2@x","deleted_at":null}]},'
      . '"prepared":{"command":"DELETE","rowCount":2,"ids":[3,4]},'
      . '"prepared_again":{"command":"DELETE","rowCount":1,"ids":[5]},'
      . '"in_tx":{"command":"DELETE","rowCount":1},'
      . '"live":[6],'
      . '"hidden":0}',
        "$label: node-postgres sees DELETE n and RETURNING rows on a soft-delete table");

    # the rows are still there, marked (a superuser sees every row)
    is($node->safe_psql('postgres',
            'SELECT string_agg(id::text, \',\' ORDER BY id) FROM users WHERE deleted_at IS NOT NULL'),
        '1,2,3,4,5', "$label: deleted rows are kept, marked");
}

# not loaded: the first DELETE of a session is refused, nothing is removed
$node->safe_psql('postgres', q{
    CREATE TABLE users (id int PRIMARY KEY, email text);
    INSERT INTO users VALUES (1, 'u1@x');
    SELECT rowkeeper.enable_soft_delete('users');
    GRANT SELECT, DELETE ON users TO app;
});
my ($ret, $stdout2, $stderr2) = $node->psql('postgres', 'DELETE FROM users WHERE id = 1',
                                            extra_params => [ '-U', 'app' ]);
like($stderr2, qr/not loaded when the DELETE was parsed.*\n.*\n.*session_preload_libraries/,
     'not loaded: the DELETE is refused and the setting named');
is($node->safe_psql('postgres', 'SELECT count(*) FROM users WHERE deleted_at IS NULL'), '1',
   'not loaded: nothing deleted');

$node->safe_psql('postgres', q{ALTER DATABASE postgres SET session_preload_libraries = 'rowkeeper'});
run_client('session_preload_libraries');
$node->safe_psql('postgres', 'ALTER DATABASE postgres RESET session_preload_libraries');
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'rowkeeper'");
$node->restart;
run_client('shared_preload_libraries');

$node->stop;
done_testing();
