# RowkeeperNode.pm: the set-up the node-based TAP tests share (the
# node-postgres client test 010 and the ORM tests 080, 083-086); not a test
# itself (prove runs test/t/*.pl only).  It owns: copying a project under
# test/ into a temporary work directory (which the OS user running the test
# owns), `npm install` there (optionally with npm's cache under $TMPDIR,
# kept between runs, and node's temporary files in the work directory), the
# cluster the ORM tests use (rowkeeper in shared_preload_libraries, roles
# app_owner and app, database appdb owned by app_owner with the extension),
# running node in the work directory, and the configured-tables summary.
# What a test checks stays in the test.  Loaded as PostgreSQL's own TAP
# tests load their modules:
#     use FindBin;
#     use lib $FindBin::RealBin;
#     use RowkeeperNode;
package RowkeeperNode;

use strict;
use warnings;
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(copy_project npm_install orm_cluster node_run configured_tables);

# copy_project(SRC, [FILES], DIR => QR, ...): a fresh work directory with
# FILES (paths relative to SRC) and, of each DIR under SRC, the files whose
# names match QR (QR undef: only the empty directory).  Returns its path.
sub copy_project
{
    my ($src, $files, %dirs) = @_;
    my $work = PostgreSQL::Test::Utils::tempdir;
    for my $f (@$files) {
        make_path(dirname("$work/$f"));
        copy("$src/$f", "$work/$f") or die "copy $f: $!";
    }
    for my $d (sort keys %dirs) {
        make_path("$work/$d");
        next unless defined $dirs{$d};
        opendir(my $dh, "$src/$d") or die "opendir: $!";
        for my $f (grep { $_ =~ $dirs{$d} } readdir($dh)) {
            copy("$src/$d/$f", "$work/$d/$f") or die "copy $f: $!";
        }
        closedir($dh);
    }
    return $work;
}

# npm_install(WORK, WHAT, cache => 1): `npm install` in WORK, one test
# named "npm install of WHAT".  With cache: npm's cache in
# $TMPDIR/rowkeeper-npm-cache where the next run finds it, else in the work
# directory, and from then on TMPDIR (node's own temporary files) in WORK/tmp.
sub npm_install
{
    my ($work, $what, %opt) = @_;
    my @offline;
    if ($opt{cache}) {
        my $cache = ($ENV{TMPDIR} // '/tmp') . '/rowkeeper-npm-cache';
        mkdir $cache unless -d $cache;
        $cache = "$work/.npm-cache" unless -d $cache && -w $cache;
        $ENV{npm_config_cache} = $cache;
        make_path("$work/tmp");
        $ENV{TMPDIR} = "$work/tmp";
        @offline = ('--prefer-offline');
    }
    my ($stdout, $stderr) = ('', '');
    my $ok = IPC::Run::run(['npm', 'install', '--no-audit', '--no-fund', '--loglevel=error', @offline],
                           '>', \$stdout, '2>', \$stderr, init => sub { chdir $work });
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    ok($ok, "npm install of $what") or diag("$stdout\n$stderr");
    return $ok;
}

# orm_cluster(NAME, roles_sql => SQL, app_roles => 1): a started cluster with
# rowkeeper in shared_preload_libraries, roles app_owner and app (SQL runs
# after they are created), database appdb owned by app_owner with the
# extension and CREATE on public for app_owner; with app_roles, app is
# granted rowkeeper_app and rowkeeper_see_deleted (history reads, restore).
# PGHOST, PGPORT and PGDATABASE (appdb) point to it from then on.
sub orm_cluster
{
    my ($name, %opt) = @_;
    my $node = PostgreSQL::Test::Cluster->new($name);
    $node->init;
    $node->append_conf('postgresql.conf', "shared_preload_libraries = 'rowkeeper'");
    $node->start;
    $node->safe_psql('postgres', "CREATE ROLE app_owner LOGIN;\nCREATE ROLE app LOGIN;\n"
                     . ($opt{roles_sql} // '') . "\nCREATE DATABASE appdb OWNER app_owner;");
    $node->safe_psql('appdb', "CREATE EXTENSION rowkeeper;\nGRANT CREATE ON SCHEMA public TO app_owner;\n"
                     . ($opt{app_roles} ? 'GRANT rowkeeper_app, rowkeeper_see_deleted TO app;' : ''));
    $ENV{PGHOST} = $node->host;
    $ENV{PGPORT} = $node->port;
    $ENV{PGDATABASE} = 'appdb';
    return $node;
}

# node_run(WORK, {ENV}, ARGS...): `node ARGS` in WORK with ENV added and an
# empty stdin; returns (ran, stdout, stderr)
sub node_run
{
    my ($work, $env, @args) = @_;
    local @ENV{ keys %$env } = values %$env;
    my ($out, $err) = ('', '');
    my $ran = IPC::Run::run(['node', @args], '<', \'', '>', \$out, '2>', \$err,
                            init => sub { chdir $work });
    return ($ran, $out, $err);
}

# configured_tables(NODE): "audit:T updated_at:T soft_delete:T tenant:T ..."
# of every table rowkeeper manages in appdb, sorted ('' when none)
sub configured_tables
{
    my ($node) = @_;
    return $node->safe_psql('appdb', q{
        SELECT coalesce(string_agg(x, ' ' ORDER BY x), '') FROM (
            SELECT 'audit:' || table_name AS x FROM rowkeeper.audited_tables
            UNION ALL SELECT 'updated_at:' || table_name FROM rowkeeper.updated_at_tables
            UNION ALL SELECT 'soft_delete:' || table_name FROM rowkeeper.soft_delete_tables
            UNION ALL SELECT 'tenant:' || table_name FROM rowkeeper.tenant_isolated_tables) s});
}

1;
