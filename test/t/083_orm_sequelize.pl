# 083_orm_sequelize.pl: Sequelize's migrations (sequelize-cli) and schema
# introspection, and an application through Sequelize, against a real
# cluster (test/orm/sequelize).  The table owner runs `sequelize-cli
# db:migrate` without a tenant: a camelCase multi-tenant schema ("Users",
# "Posts", "tenantId", "deletedAt"), the rowkeeper enable_* calls as a
# migration (audit, updated_at, soft delete, tenant isolation), then a
# follow-up (addColumn, addIndex, renameColumn, a new table with a foreign
# key to the soft-deleted, tenant-isolated, audited "Users").
# queryInterface.describeTable() after enabling differs from before only by
# the batch column rowkeeper added (named "deletedBatch", in the table's
# convention) and the tenant column's default.  The application role
# creates, updates (a no-op update() keeps the stamp and writes no audit
# entry), soft-deletes (destroy), restores and reads history through
# Sequelize per tenant.  `db:migrate:undo:all` runs every down migration.
# node and npm come from Debian (test/check.sh installs them); sequelize,
# sequelize-cli and pg are installed from the npm registry into a
# temporary directory (npm's cache under $TMPDIR, kept between runs).
use strict;
use warnings;
use Cwd qw(getcwd);
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use RowkeeperNode;
use Test::More;

my $work = copy_project(getcwd() . "/test/orm/sequelize",
                        ['package.json', '.sequelizerc', 'config.js', 'models.js', 'app.js', 'introspect.js'],
                        migrations => qr/\.js$/);
npm_install($work, 'sequelize, sequelize-cli and pg', cache => 1);
my $node = orm_cluster('sequelize', app_roles => 1);

sub node_run_as {
    my ($user, $stage, @cmd) = @_;
    return node_run($work, { SEQ_USER => $user, SEQ_STAGE => $stage }, @cmd);
}
sub cli {
    my ($ran, $out, $err) = node_run_as('app_owner', '', "$work/node_modules/sequelize-cli/lib/sequelize", @_);
    return ($ran, "$out$err");
}
sub describe {
    my ($stage) = @_;
    my ($ran, $out, $err) = node_run_as('app_owner', $stage, "$work/introspect.js", 'describe');
    ok($ran, 'describeTable as the owner, without a tenant') or diag($err);
    return $out;
}
sub config { return configured_tables($node); }

my ($ran, $log) = cli('db:migrate', '--to', '20261206000000-schema.js');
ok($ran, 'sequelize-cli db:migrate (schema) as the owner') or diag($log);
my $before = describe('');
($ran, $log) = cli('db:migrate', '--to', '20261206000001-rowkeeper.js');
ok($ran, 'sequelize-cli db:migrate (rowkeeper enable_* calls) as the owner') or diag($log);
is(config(), 'audit:"Posts" audit:"Users" soft_delete:"Posts" soft_delete:"Users" tenant:"Posts" tenant:"Users" updated_at:"Posts" updated_at:"Users"',
   'the enable_* migration configured both tables');

# describeTable after enabling: the batch column in the table's convention,
# and the tenant column's default; nothing else
my $after = describe('');
my %b = map { $_ => 1 } split /\n/, $before;
my %a = map { $_ => 1 } split /\n/, $after;
is(join("\n", map { s/ .*//r } grep { !$b{$_} } split /\n/, $after),
   "Posts.deletedBatch\nPosts.tenantId\nUsers.deletedBatch\nUsers.tenantId",
   'describeTable after enabling: two columns added or changed per table');
is(join("\n", map { s/ .*//r } grep { !$a{$_} } split /\n/, $before),
   "Posts.tenantId\nUsers.tenantId", 'describeTable after enabling: nothing gone');
like($after, qr/^Users\.deletedBatch \{"type":"BIGINT","allowNull":true,/m, 'the batch column is "deletedBatch"');
like($after, qr/^Users\.tenantId \{"type":"BIGINT","allowNull":false,"defaultValue":"rowkeeper\.current_tenant_bigint\(\)"/m,
     "the tenant column's default is the current tenant");

my ($out, $err);
($ran, $out, $err) = node_run_as('app', '', "$work/app.js", 'before');
ok($ran, 'the app through Sequelize, per tenant') or diag($err);
like($out, qr/"id_type":"string","tenant1_posts":\[\{"title":"post of 1","tenantId":"1"\}\]/,
     "tenant 1 sees its own post only, the tenant filled in by the column's default") or diag($out);
like($out, qr/"noop":true,"cross_tenant_delete":0,"deleted":1,"after_delete":0,"restored":"1","after_restore":1/,
     "a no-op update() keeps the stamp; destroy (not of another tenant's row), restore") or diag($out);
like($out, qr/"post_history":"INSERT SOFT_DELETE RESTORE","user_history":"INSERT UPDATE","other_tenant_history":""/,
     'row_history with the key as Sequelize hands it (a string): the ops, nothing for another tenant') or diag($out);
like($out, qr/"no_tenant":"no tenant is set"/, 'no tenant: fails closed through Sequelize') or diag($out);
is($node->safe_psql('appdb', q{
    SELECT string_agg(op || ':' || table_name || ':' || tenant, ' ' ORDER BY id)
      FROM rowkeeper.audit_log WHERE op <> 'INSERT'}),
   'UPDATE:Users:1 SOFT_DELETE:Posts:1 RESTORE:Posts:1', 'audit log: one update (the no-op is not there), soft delete, restore');
is($node->safe_psql('appdb', q{SELECT count(*) FROM "Posts" WHERE "deletedBatch" IS NOT NULL}),
   '0', 'the restored post has no batch left');

($ran, $log) = cli('db:migrate');
ok($ran, 'sequelize-cli db:migrate (follow-up: column, index, rename, table with FK to "Users") as the owner') or diag($log);
my $followup = describe('followup');
like($followup, qr/^Users\.displayName /m, 'describeTable: the renamed column');
like($followup, qr/^Comments\.UserId /m, 'describeTable: the new table');
# sync({ alter: true }) with the follow-up models: Sequelize alters every
# column to what the model says (ALTER COLUMN ... TYPE each time); on the
# tenant and soft-delete columns that is a no-op rowkeeper lets through
($ran, $out, $err) = node_run_as('app_owner', 'followup', "$work/introspect.js", 'sync');
ok($ran, 'sequelize.sync({ alter: true }) as the owner') or diag($err);
like($out, qr/ALTER TABLE \\"Users\\" ALTER COLUMN \\"tenantId\\" TYPE BIGINT/, 'it sent ALTER COLUMN "tenantId" TYPE BIGINT')
  or diag($out);
is(describe('followup'), $followup, 'describeTable after sync: unchanged');
is(config(), 'audit:"Comments" audit:"Posts" audit:"Users" soft_delete:"Posts" soft_delete:"Users" tenant:"Comments" tenant:"Posts" tenant:"Users" updated_at:"Posts" updated_at:"Users"',
   'the rowkeeper configuration survives sync');
($ran, $out, $err) = node_run_as('app', 'followup', "$work/app.js", 'after');
ok($ran, 'the app after the follow-up migration') or diag($err);
like($out, qr/"tenant2":\[\{"displayName":"renamed 2"\}\],"tenant2_posts":\[\{"title":"post of 2","body":"text"\}\]/,
     'renamed and added columns written for tenant 2') or diag($out);
like($out, qr/"tenant1_comments":0,"tenant2_comments":1/, 'the new table is isolated too') or diag($out);

like($node->safe_psql('appdb', q{
    SELECT string_agg(object || ' ' || status, ', ' ORDER BY object)
      FROM rowkeeper.preflight('{public}') WHERE check_name = 'coverage.audit'}),
     qr/^public\."SequelizeMeta" info$/, 'preflight: SequelizeMeta skipped, the rest audited');

($ran, $log) = cli('db:migrate:undo:all');
ok($ran, 'sequelize-cli db:migrate:undo:all as the owner') or diag($log);
is(config() . '|' . $node->safe_psql('appdb', q{
    SELECT count(*) FROM pg_class WHERE relname IN ('Users', 'Posts', 'Comments') AND relkind = 'r'}),
   '|0', 'the down migrations removed the rowkeeper configuration and the tables');

$node->stop;
done_testing();
