# 080_orm_knex.pl: knex's migration tool and an application through knex,
# against a real cluster (test/orm/knex).  The table owner runs `knex
# migrate:latest` without a tenant: a multi-tenant schema, the rowkeeper
# enable_* calls as a migration, then a follow-up migration (add column,
# add index, rename column, a new table with a foreign key to an isolated,
# audited table, a foreign key added to an existing one).  The application
# role writes and reads through knex per tenant; an ORM-style no-op save
# keeps the row's stamp and writes no audit entry; preflight_assert() does
# not fail on knex's bookkeeping tables; `knex migrate:rollback --all` runs
# every down migration (disable_* included) and leaves nothing behind.
# node and npm come from Debian (test/check.sh installs them); knex and pg
# are installed from the npm registry into a temporary directory.
use strict;
use warnings;
use Cwd qw(getcwd);
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use RowkeeperNode;
use Test::More;

my $work = copy_project(getcwd() . "/test/orm/knex", ['package.json', 'knexfile.js', 'app.js'],
                        migrations => qr/\.js$/);
npm_install($work, 'knex and pg');
my $node = orm_cluster('knex');

sub knex_cli {
    my ($user, @args) = @_;
    my ($ran, $out, $err) = node_run($work, { KNEX_USER => $user },
                                     "$work/node_modules/knex/bin/cli.js", '--knexfile', "$work/knexfile.js", @args);
    return ($ran, "$out$err");
}
sub app {
    my ($stage) = @_;
    return node_run($work, { KNEX_USER => 'app' }, "$work/app.js", $stage);
}

# the schema and the enable_* migration (two of three: stop before the follow-up)
my ($ran, $log) = knex_cli('app_owner', 'migrate:up');
ok($ran, 'knex migrate:up (schema) as the owner') or diag($log);
($ran, $log) = knex_cli('app_owner', 'migrate:up');
ok($ran, 'knex migrate:up (rowkeeper enable_* calls) as the owner') or diag($log);
is($node->safe_psql('appdb', q{
    SELECT string_agg(x, ' ' ORDER BY x) FROM (
        SELECT 'audit:' || table_name AS x FROM rowkeeper.audited_tables
        UNION ALL SELECT 'updated_at:' || table_name FROM rowkeeper.updated_at_tables
        UNION ALL SELECT 'tenant:' || table_name FROM rowkeeper.tenant_isolated_tables) s}),
   'audit:posts audit:users tenant:posts tenant:users updated_at:posts updated_at:users',
   'the enable_* migration configured both tables');

my ($out, $err);
($ran, $out, $err) = app('before');
ok($ran, 'the app through knex, per tenant') or diag($err);
like($out, qr/"tenant1":\[\{"title":"post of 1"\}\]/, 'tenant 1 sees its own post only') or diag($out);
like($out, qr/"noop_kept_stamp":true/, 'an ORM-style no-op save keeps the stamp') or diag($out);
like($out, qr/"no_tenant":"select \* from \\"users\\" - no tenant is set"/, 'no tenant: fails closed through knex') or diag($out);
is($node->safe_psql('appdb', q{SELECT count(*) FROM rowkeeper.audit_log WHERE op = 'UPDATE'}),
   '0', 'the no-op save wrote no audit entry');
is($node->safe_psql('appdb', q{SELECT count(DISTINCT tenant) FROM rowkeeper.audit_log WHERE op = 'INSERT'}),
   '2', 'inserts of both tenants audited');

# the follow-up migration, as the owner, without a tenant
($ran, $log) = knex_cli('app_owner', 'migrate:latest');
ok($ran, 'knex migrate:latest (follow-up: column, index, rename, foreign keys) as the owner') or diag($log);
($ran, $out, $err) = app('after');
ok($ran, 'the app after the follow-up migration') or diag($err);
like($out, qr/"tenant2":\[\{"display_name":"renamed"\}\]/, 'renamed column written for tenant 2 only') or diag($out);
like($out, qr/"comments":\[\{"n":"0"\}\]/, "tenant 1 does not see tenant 2's comment") or diag($out);

# preflight: knex's bookkeeping tables are skipped, not failed
like($node->safe_psql('appdb', q{
    SELECT string_agg(object || ' ' || status, ', ' ORDER BY object)
      FROM rowkeeper.preflight('{public}') WHERE check_name = 'coverage.audit'}),
     qr/^public\.knex_migrations info, public\.knex_migrations_lock info$/, 'preflight: knex tables skipped, the rest audited');
like($node->safe_psql('appdb', q{
    SELECT rowkeeper.preflight_assert('{public}', ignore => '{roles.%,settings.%,hygiene.%,tenant.%}')}),
     qr/ 0 fail$/, 'preflight_assert passes');

# knex's view of the migrations, then every down migration
($ran, $log) = knex_cli('app_owner', 'migrate:status');
like($log, qr/No Pending Migration files Found/i, 'knex migrate:status: nothing pending') or diag($log);
($ran, $log) = knex_cli('app_owner', 'migrate:rollback', '--all');
ok($ran, 'knex migrate:rollback --all as the owner') or diag($log);
is($node->safe_psql('appdb', q{
    SELECT (SELECT count(*) FROM rowkeeper.audited_tables) || ' ' ||
           (SELECT count(*) FROM rowkeeper.updated_at_tables) || ' ' ||
           (SELECT count(*) FROM rowkeeper.tenant_isolated_tables) || ' ' ||
           (SELECT count(*) FROM pg_class WHERE relname IN ('users', 'posts', 'comments'))}),
   '0 0 0 0', 'the down migrations removed the rowkeeper configuration and the tables');

$node->stop;
done_testing();
