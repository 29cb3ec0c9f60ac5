# 010_soft_delete_client.pl: a real client (node-postgres) sees a DELETE on a
# soft-delete table as a DELETE: command "DELETE", rowCount 1 for one live
# row, the row from RETURNING, over both the simple and the extended
# protocol (prepared statements included).  node and npm come from Debian
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
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE TABLE users (id int PRIMARY KEY, email text);
    INSERT INTO users SELECT i, 'u' || i || '@x' FROM generate_series(1, 6) i;
    SELECT rowkeeper.enable_soft_delete('users');
});

local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGUSER} = $ENV{USER} // 'postgres';
local $ENV{PGDATABASE} = 'postgres';
($stdout, $stderr) = ('', '');
IPC::Run::run(['node', "$work/soft_delete.js"], '>', \$stdout, '2>', \$stderr)
  or diag("node failed: $stderr");
chomp $stdout;
is($stdout,
    '{"extended":{"command":"DELETE","rowCount":1},'
  . '"again":{"command":"DELETE","rowCount":0},'
  . '"returning":{"command":"DELETE","rowCount":1,"rows":[{"id":2,"email":"u2@x","deleted_at":null}]},'
  . '"prepared":{"command":"DELETE","rowCount":2,"ids":[3,4]},'
  . '"prepared_again":{"command":"DELETE","rowCount":1,"ids":[5]},'
  . '"in_tx":{"command":"DELETE","rowCount":1},'
  . '"live":[6],'
  . '"marked":5}',
    'node-postgres sees DELETE n and RETURNING rows on a soft-delete table');

# the rows are still there, marked
is($node->safe_psql('postgres',
        'SELECT string_agg(id::text, \',\' ORDER BY id) FROM users_with_deleted WHERE deleted_at IS NOT NULL'),
    '1,2,3,4,5', 'deleted rows are kept, marked');

$node->stop;
done_testing();
