# RowkeeperCitus.pm: the Citus cluster the Citus TAP tests share
# (082_citus, 087_citus_soft_delete); not a test itself (prove runs
# test/t/*.pl only).  It owns: skipping the whole test when Citus is not
# installed for the server under test, and starting a coordinator and two
# workers on unix sockets (rowkeeper preloaded after citus on every node,
# the coordinator in the metadata, both workers added).  What a test
# checks, its roles, tables and data stay in the test.  Loaded as
# PostgreSQL's own TAP tests load their modules:
#     use FindBin;
#     use lib $FindBin::RealBin;
#     use RowkeeperCitus;
#     my ($coord, $w1, $w2) = citus_cluster();
package RowkeeperCitus;

use strict;
use warnings;
use Exporter qw(import);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(citus_cluster);

# citus_cluster(): (coordinator, worker1, worker2), started, with citus and
# rowkeeper in shared_preload_libraries (citus first),
# max_prepared_transactions for Citus's two-phase commit and
# citus.local_hostname (the socket directory: shard moves connect to it),
# CREATE EXTENSION citus on each, the coordinator in the metadata
# (citus_set_coordinator_host: reference tables get a copy there) and the
# two workers added; one test "two workers".  When Citus is not installed
# for this server (test/citus_setup.sh builds it for PostgreSQL 15 and 17),
# the whole test is skipped with that reason.
sub citus_cluster
{
    my $coord = PostgreSQL::Test::Cluster->new('coordinator');
    my $libdir = $coord->config_data('--pkglibdir');
    my $sharedir = $coord->config_data('--sharedir');
    if (!-f "$libdir/citus.so" || !-f "$sharedir/extension/citus.control")
    {
        my $version = $coord->config_data('--version');
        plan skip_all => "Citus is not installed for this server ($version); "
          . 'test/citus_setup.sh builds it for PostgreSQL 15 and 17';
    }

    my $w1 = PostgreSQL::Test::Cluster->new('worker1');
    my $w2 = PostgreSQL::Test::Cluster->new('worker2');
    for my $node ($coord, $w1, $w2)
    {
        $node->init;
        $node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'citus,rowkeeper'
max_prepared_transactions = 20
citus.local_hostname = '@{[$node->host]}'
});
        $node->start;
        $node->safe_psql('postgres', 'CREATE EXTENSION citus');
    }
    $coord->safe_psql('postgres', sprintf(q{SELECT citus_set_coordinator_host('%s', %d)},
            $coord->host, $coord->port));
    for my $w ($w1, $w2)
    {
        $coord->safe_psql('postgres', sprintf(q{SELECT citus_add_node('%s', %d)}, $w->host, $w->port));
    }
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is($coord->safe_psql('postgres', q{SELECT count(*) FROM citus_get_active_worker_nodes()}),
        '2', 'two workers');
    return ($coord, $w1, $w2);
}

1;
