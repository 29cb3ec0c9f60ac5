# 086_orm_prisma.pl: the Prisma 7 client through its driver adapter
# (@prisma/adapter-pg) over Prisma-form SQL migrations, against a real
# cluster (test/orm/prisma).  Prisma's CLI needs a schema engine binary for
# `migrate` and `db pull`, which cannot be downloaded here; `prisma
# generate` does not (PRISMA_SCHEMA_ENGINE_BINARY points to a dummy).  So
# the test applies prisma/migrations/*/migration.sql as the table owner,
# without a tenant, and records them in _prisma_migrations as `prisma
# migrate deploy` does: the schema as Prisma writes it ("User", "Post",
# timestamp(3) DateTime columns), the rowkeeper enable_* calls (audit,
# updated_at, soft delete, tenant isolation), then a follow-up (column,
# index, renamed column, a new table with a foreign key to the
# soft-deleted, tenant-isolated, audited "User").  What `db pull` would
# read (columns, defaults, indexes, foreign keys) after enabling differs
# from before only by the batch column ("deletedBatch"), the tenant
# default and index, all declared in schema.prisma.  The application role,
# whose session TimeZone is America/New_York, creates, updates (Prisma's
# @updatedAt reads back as now; a no-op update keeps the stamp), deletes
# (soft), restores and reads history through the client per tenant.  The
# down scripts (down.sql, as `prisma db execute` would run them) take
# everything back.
# node and npm come from Debian (test/check.sh installs them); prisma,
# @prisma/client, @prisma/adapter-pg and pg are installed from the npm
# registry into a temporary directory (npm's cache under $TMPDIR).
use strict;
use warnings;
use Cwd qw(getcwd);
use Digest::SHA qw(sha256_hex);
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Utils;
use RowkeeperNode;
use Test::More;

my $src = getcwd() . "/test/orm/prisma";
my $work = copy_project($src, ['package.json', 'app.js', 'prisma/schema.prisma', 'prisma/schema.followup.prisma']);
my @migrations = do {
    opendir(my $dh, "$src/prisma/migrations") or die "opendir: $!";
    sort grep { /^\d{14}_/ } readdir($dh);
};
is(join(' ', @migrations), '20261206000000_init 20261206000001_rowkeeper 20261206000002_followup',
   'three Prisma migrations');

local $ENV{PRISMA_HIDE_UPDATE_MESSAGE} = 1;
local $ENV{CHECKPOINT_DISABLE} = 1;
npm_install($work, 'prisma, @prisma/client, @prisma/adapter-pg and pg', cache => 1);
for my $schema ('schema.prisma', 'schema.followup.prisma') {
    my ($ok, $stdout, $stderr) = node_run($work, { PRISMA_SCHEMA_ENGINE_BINARY => '/bin/false' },
                                          "$work/node_modules/prisma/build/index.js", 'generate', '--schema', "prisma/$schema");
    ok($ok && "$stdout$stderr" =~ /Generated Prisma Client \(v7\.10\.1\)/, "prisma generate ($schema)")
      or diag("$stdout\n$stderr");
}

my $node = orm_cluster('prisma', app_roles => 1, roles_sql => q{ALTER ROLE app SET TimeZone = 'America/New_York';});

sub owner_psql {
    my ($sql) = @_;
    my ($out, $err) = ('', '');
    my $ret = $node->psql('appdb', $sql, stdout => \$out, stderr => \$err,
                          extra_params => ['-U', 'app_owner'], on_error_stop => 1);
    return ($ret == 0, "$out\n$err");
}
# what `prisma migrate deploy` does with one migration: run it, record it
owner_psql(q{
    CREATE TABLE "_prisma_migrations" (
        "id" VARCHAR(36) PRIMARY KEY NOT NULL,
        "checksum" VARCHAR(64) NOT NULL,
        "finished_at" TIMESTAMPTZ,
        "migration_name" VARCHAR(255) NOT NULL,
        "logs" TEXT,
        "rolled_back_at" TIMESTAMPTZ,
        "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
        "applied_steps_count" INTEGER NOT NULL DEFAULT 0)});
sub deploy {
    my $name = shift @migrations;
    my $sql = slurp_file("$src/prisma/migrations/$name/migration.sql");
    my ($ran, $log) = owner_psql("BEGIN;\n$sql\nCOMMIT;");
    ok($ran, "migration $name as the owner, without a tenant") or diag($log);
    owner_psql(sprintf(q{INSERT INTO "_prisma_migrations" (id, checksum, finished_at, migration_name, applied_steps_count)
                         VALUES (gen_random_uuid()::text, '%s', now(), '%s', 1)}, sha256_hex($sql), $name));
}
sub down {
    my ($name) = @_;
    my ($ran, $log) = owner_psql("BEGIN;\n" . slurp_file("$src/prisma/migrations/$name/down.sql") .
                                 qq{\nDELETE FROM "_prisma_migrations" WHERE migration_name = '$name';\nCOMMIT;});
    ok($ran, "down.sql of $name as the owner") or diag($log);
}
sub app {
    my ($stage) = @_;
    return node_run($work, { PRISMA_USER => 'app' }, "$work/app.js", $stage);
}
sub config { return configured_tables($node); }
# what `prisma db pull` reads of the two tables, one line per item
my $introspect = q{
    SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
           || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE c.relname IN ('User', 'Post') AND c.relnamespace = 'public'::regnamespace
       AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i
     WHERE i.indrelid IN ('"User"'::regclass, '"Post"'::regclass)
    UNION ALL
    SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
     WHERE conrelid IN ('"User"'::regclass, '"Post"'::regclass) AND contype IN ('f', 'p', 'u')
    ORDER BY 1};

deploy();
my $before = $node->safe_psql('appdb', $introspect);
deploy();
is(config(), 'audit:"Post" audit:"User" soft_delete:"Post" soft_delete:"User" tenant:"Post" tenant:"User" updated_at:"Post" updated_at:"User"',
   'the rowkeeper migration configured both tables');
my $after = $node->safe_psql('appdb', $introspect);
my %b = map { $_ => 1 } split /\n/, $before;
my %a = map { $_ => 1 } split /\n/, $after;
is(join("\n", grep { !$b{$_} } split /\n/, $after),
   join("\n", 'CREATE INDEX "Post_tenantId_idx" ON public."Post" USING btree ("tenantId")',
              'CREATE INDEX "User_tenantId_idx" ON public."User" USING btree ("tenantId")',
              'Post.deletedBatch bigint',
              'Post.tenantId bigint not null default rowkeeper.current_tenant_bigint()',
              'User.deletedBatch bigint',
              'User.tenantId bigint not null default rowkeeper.current_tenant_bigint()'),
   'the schema after enabling: the batch column ("deletedBatch"), the tenant default and index, as schema.prisma declares them');
is(join("\n", grep { !$a{$_} } split /\n/, $before), "Post.tenantId bigint not null\nUser.tenantId bigint not null",
   'nothing else changed');
like(slurp_file("$src/prisma/schema.prisma"),
     qr/deletedBatch BigInt\?.*tenantId +BigInt +\@default\(dbgenerated\("rowkeeper\.current_tenant_bigint\(\)"\)\)/s,
     'schema.prisma declares them');

my ($ran, $out, $err) = app('before');
ok($ran, 'the app through the Prisma client, per tenant') or diag($err);
like($out, qr/"session_time_zone":"America\/New_York","tenant1_posts":\[\{"title":"post of 1","tenantId":"1"\}\]/,
     "tenant 1 sees its own post only, the tenant filled in by the column's default") or diag($out);
like($out, qr/"updated_at_is_now":true,"noop_kept_stamp":true/,
     "\@updatedAt in a non-UTC session reads back as now; a no-op update keeps the stamp") or diag($out);
like($out, qr/"cross_tenant_delete":0,"deleted":"post of 1","after_delete":0,"restored":"1","after_restore":1/,
     "delete (not of another tenant's row, RETURNING the row), restore") or diag($out);
like($out, qr/"post_history":"INSERT SOFT_DELETE RESTORE","user_history":"INSERT UPDATE","other_tenant_history":""/,
     'row_history with the key as a string: the ops, nothing for another tenant') or diag($out);
like($out, qr/"no_tenant":"no tenant is set"/, 'no tenant: fails closed through Prisma') or diag($out);
is($node->safe_psql('appdb', q{
    SELECT string_agg(op || ':' || table_name || ':' || tenant, ' ' ORDER BY id)
      FROM rowkeeper.audit_log WHERE op <> 'INSERT'}),
   'UPDATE:User:1 SOFT_DELETE:Post:1 RESTORE:Post:1', 'audit log: one update (the no-op is not there), soft delete, restore');
is($node->safe_psql('appdb', q{
    SELECT count(*) FILTER (WHERE abs(extract(epoch FROM "updatedAt" - (now() AT TIME ZONE 'UTC'))) < 120)
      FROM "User" WHERE "tenantId" = 1}),
   '1', 'the stored updatedAt is in UTC');

deploy();
($ran, $out, $err) = app('after');
ok($ran, 'the app after the follow-up migration') or diag($err);
like($out, qr/"tenant2":\[\{"displayName":"renamed 2"\}\],"tenant2_posts":\[\{"title":"post of 2","body":"text"\}\]/,
     'renamed and added columns written for tenant 2') or diag($out);
like($out, qr/"tenant1_comments":0,"tenant2_comments":1/, 'the new table is isolated too') or diag($out);

like($node->safe_psql('appdb', q{
    SELECT string_agg(object || ' ' || status, ', ' ORDER BY object)
      FROM rowkeeper.preflight('{public}') WHERE check_name = 'coverage.audit'}),
     qr/^public\._prisma_migrations info$/, 'preflight: _prisma_migrations skipped, the rest audited');

down($_) for ('20261206000002_followup', '20261206000001_rowkeeper');
is(config(), '', 'the down scripts removed the rowkeeper configuration');
is($node->safe_psql('appdb', $introspect), $before, 'and left the schema as before enabling');
down('20261206000000_init');
is($node->safe_psql('appdb', q{
    SELECT count(*) FROM pg_class WHERE relname IN ('User', 'Post', 'Comment') AND relkind = 'r'}),
   '0', 'and the tables');

$node->stop;
done_testing();
