# 084_orm_typeorm.pl: TypeORM's migrations and schema diff, and an
# application through TypeORM, against a real cluster (test/orm/typeorm).
# The table owner runs `typeorm migration:run` without a tenant: the
# schema as `migration:generate` wrote it (camelCase columns, "user"), the
# rowkeeper enable_* calls as a migration (audit, updated_at, soft delete,
# tenant isolation), then a follow-up through TypeORM's QueryRunner (add
# column, index, rename column, new table with a foreign key to the
# soft-deleted, tenant-isolated, audited "user").  `migration:generate
# --check` finds no difference between the entities and the database after
# each step (and does find the follow-up before it ran).  The application
# role creates, updates (a no-op update() keeps the stamp and writes no
# audit entry), soft-deletes, restores and reads history through TypeORM
# per tenant.  `migration:revert` runs every down migration.
# node and npm come from Debian (test/check.sh installs them); typeorm and
# pg are installed from the npm registry into a temporary directory (npm's
# cache under $TMPDIR, kept between runs).
use strict;
use warnings;
use Cwd qw(getcwd);
use File::Copy qw(copy);
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use RowkeeperNode;
use Test::More;

my $src = getcwd() . "/test/orm/typeorm";
my $work = copy_project($src, ['package.json', 'datasource.js', 'entities.js', 'app.js'],
                        migrations => undef);
# the migrations become visible to TypeORM one at a time
my @migrations = do {
    opendir(my $dh, "$src/migrations") or die "opendir: $!";
    sort grep { /\.js$/ } readdir($dh);
};
is(scalar @migrations, 3, 'three migrations');
sub add_migration {
    my $f = shift @migrations;
    copy("$src/migrations/$f", "$work/migrations/$f") or die "copy $f: $!";
}

npm_install($work, 'typeorm and pg', cache => 1);
my $node = orm_cluster('typeorm', app_roles => 1);

sub cli {
    my ($stage, @args) = @_;
    my ($ran, $out, $err) = node_run($work, { TYPEORM_USER => 'app_owner', TYPEORM_STAGE => $stage },
                                     "$work/node_modules/typeorm/cli.js", @args, '-d', "$work/datasource.js");
    return ($ran, "$out$err");
}
sub drift {
    my ($stage) = @_;
    return cli($stage, 'migration:generate', "$work/drift/Drift", '--dryrun', '--check');
}
sub app {
    my ($stage, $arg) = @_;
    return node_run($work, { TYPEORM_USER => 'app', TYPEORM_STAGE => $stage }, "$work/app.js", $arg);
}
sub config { return configured_tables($node); }

add_migration();
my ($ran, $log) = cli('', 'migration:run');
ok($ran, 'typeorm migration:run (schema) as the owner') or diag($log);
add_migration();
($ran, $log) = cli('', 'migration:run');
ok($ran, 'typeorm migration:run (rowkeeper enable_* calls) as the owner') or diag($log);
is(config(), 'audit:"user" audit:post soft_delete:"user" soft_delete:post tenant:"user" tenant:post updated_at:"user" updated_at:post',
   'the enable_* migration configured both tables');
is($node->safe_psql('appdb', q{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
                               WHERE attrelid = '"user"'::regclass AND attnum > 0 AND NOT attisdropped}),
   'id,tenantId,name,createdAt,updatedAt,deletedAt,deletedBatch', 'no column added: the entity declares deletedAt and deletedBatch');

($ran, $log) = drift('');
ok($ran, 'typeorm migration:generate --check after enabling') or diag($log);
like($log, qr/No changes in database schema were found/, 'TypeORM sees no drift after the enable_* calls') or diag($log);
($ran, $log) = drift('followup');
ok(!$ran, 'migration:generate --check against the follow-up entities fails before the follow-up ran');
like($log, qr/ADD "body" text.*CREATE TABLE "comment"|CREATE TABLE "comment".*ADD "body" text/s,
     'and names the follow-up changes (the check can fail)') or diag($log);

my ($out, $err);
($ran, $out, $err) = app('', 'before');
ok($ran, 'the app through TypeORM, per tenant') or diag($err);
like($out, qr/"id_type":"string","tenant1_posts":\[\{"tenantId":"1","title":"post of 1"\}\]/,
     "tenant 1 sees its own post only, the tenant filled in by the column's default") or diag($out);
like($out, qr/"noop":true,"cross_tenant_delete":0,"deleted":1,"after_delete":0,"restored":"1","after_restore":1/,
     "a no-op update() keeps the stamp; delete (not of another tenant's row), restore") or diag($out);
like($out, qr/"post_history":"INSERT SOFT_DELETE RESTORE","user_history":"INSERT UPDATE","other_tenant_history":""/,
     'row_history with the key as TypeORM hands it (a string): the ops, nothing for another tenant') or diag($out);
like($out, qr/"no_tenant":"no tenant is set"/, 'no tenant: fails closed through TypeORM') or diag($out);
is($node->safe_psql('appdb', q{
    SELECT string_agg(op || ':' || table_name || ':' || tenant, ' ' ORDER BY id)
      FROM rowkeeper.audit_log WHERE op <> 'INSERT'}),
   'UPDATE:user:1 SOFT_DELETE:post:1 RESTORE:post:1', 'audit log: one update (the no-op is not there), soft delete, restore');

add_migration();
($ran, $log) = cli('followup', 'migration:run');
ok($ran, 'typeorm migration:run (follow-up: column, index, rename, table with FK to "user") as the owner') or diag($log);
($ran, $log) = drift('followup');
ok($ran, 'typeorm migration:generate --check after the follow-up') or diag($log);
like($log, qr/No changes in database schema were found/, 'TypeORM sees no drift after the follow-up') or diag($log);
($ran, $out, $err) = app('followup', 'after');
ok($ran, 'the app after the follow-up migration') or diag($err);
like($out, qr/"tenant2":\[\{"displayName":"renamed 2"\}\],"tenant2_posts":\[\{"title":"post of 2","body":"text"\}\]/,
     'renamed and added columns written for tenant 2') or diag($out);
like($out, qr/"tenant1_comments":0,"tenant2_comments":1/, 'the new table is isolated too') or diag($out);

like($node->safe_psql('appdb', q{
    SELECT string_agg(object || ' ' || status, ', ' ORDER BY object)
      FROM rowkeeper.preflight('{public}') WHERE check_name = 'coverage.audit'}),
     qr/^public\.migrations info$/, "preflight: TypeORM's migrations table skipped, the rest audited");

for my $name ('Followup', 'Rowkeeper', 'Schema') {
    ($ran, $log) = cli($name eq 'Followup' ? 'followup' : '', 'migration:revert');
    ok($ran && $log =~ /Migration ${name}\d+ has been reverted successfully/, "typeorm migration:revert: $name")
      or diag($log);
}
is(config() . '|' . $node->safe_psql('appdb', q{
    SELECT count(*) FROM pg_class WHERE relname IN ('user', 'post', 'comment') AND relkind = 'r'}),
   '|0', 'the down migrations removed the rowkeeper configuration and the tables');

$node->stop;
done_testing();
