# 081_orm_django.pl: Django's migrations (Debian's python3-django, 3.2) and
# an application through the Django ORM, against a real cluster
# (test/orm/django).  The table owner runs `manage.py migrate` without a
# tenant: a multi-tenant schema, the rowkeeper enable_* calls as a RunSQL
# migration with its reverse, then a follow-up (AddField, AddIndex,
# RenameField, a new model with a foreign key to an isolated, audited
# table: ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY, validated across
# every tenant).  The application role works through the ORM per tenant;
# a no-op save() (auto_now stamps updated_at) keeps the row and writes no
# audit entry; `makemigrations --check` finds no drift; preflight_assert()
# does not fail on django_migrations; `inspectdb` of a table before and
# after enable_soft_delete() differs only by the batch column (the table
# keeps its name and form); `migrate shop zero` runs every reverse
# migration and leaves nothing behind.
use strict;
use warnings;
use Cwd qw(getcwd);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = '/usr/bin/python3';    # Debian's, with python3-django and python3-psycopg2
my $src = getcwd() . "/test/orm/django";

my $node = PostgreSQL::Test::Cluster->new('django');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'rowkeeper'");
$node->start;
$node->safe_psql('postgres', q{
    CREATE ROLE app_owner LOGIN;
    CREATE ROLE app LOGIN;
    CREATE DATABASE appdb OWNER app_owner;
});
$node->safe_psql('appdb', q{
    CREATE EXTENSION rowkeeper;
    GRANT CREATE ON SCHEMA public TO app_owner;
});

local $ENV{PGHOST} = $node->host;
local $ENV{PGPORT} = $node->port;
local $ENV{PGDATABASE} = 'appdb';
local $ENV{PYTHONDONTWRITEBYTECODE} = 1;

sub run_py {
    my ($user, @args) = @_;
    local $ENV{DJANGO_DB_USER} = $user;
    my ($out, $err) = ('', '');
    my $ran = IPC::Run::run([$python, @args], '>', \$out, '2>', \$err, init => sub { chdir $src });
    return ($ran, $out, $err);
}

my ($ran, $out, $err) = run_py('app_owner', 'manage.py', 'migrate', 'shop', '0002');
ok($ran, 'manage.py migrate shop 0002 (schema, rowkeeper enable_* calls) as the owner') or diag("$out\n$err");
is($node->safe_psql('appdb', q{
    SELECT string_agg(x, ' ' ORDER BY x) FROM (
        SELECT 'audit:' || table_name AS x FROM rowkeeper.audited_tables
        UNION ALL SELECT 'updated_at:' || table_name FROM rowkeeper.updated_at_tables
        UNION ALL SELECT 'tenant:' || table_name FROM rowkeeper.tenant_isolated_tables) s}),
   'audit:shop_customer audit:shop_order tenant:shop_customer tenant:shop_order updated_at:shop_customer updated_at:shop_order',
   'the RunSQL migration configured both tables');
$node->safe_psql('appdb', q{
    INSERT INTO shop_customer (tenant_id, name, updated_at) VALUES (1, 'early', now()), (2, 'early', now());
    INSERT INTO shop_order (tenant_id, customer_id, total, updated_at)
    SELECT tenant_id, id, 1, now() FROM shop_customer;
});

($ran, $out, $err) = run_py('app_owner', 'manage.py', 'migrate');
ok($ran, 'manage.py migrate (follow-up: field, index, rename, foreign key) as the owner') or diag("$out\n$err");

($ran, $out, $err) = run_py('app_owner', 'manage.py', 'makemigrations', '--check', '--dry-run');
ok($ran, 'makemigrations --check: the models match the migrations') or diag("$out\n$err");
like($out, qr/No changes detected/, 'no drift reported') or diag($out);

$node->safe_psql('appdb', q{DELETE FROM shop_order; DELETE FROM shop_customer});
($ran, $out, $err) = run_py('app', 'app.py');
ok($ran, 'the app through the Django ORM, per tenant') or diag("$out\n$err");
like($out, qr/"tenant1": \["customer of 1"\]/, 'tenant 1 sees its own customer only') or diag($out);
like($out, qr/"noop_kept_stamp": true/, 'a no-op save() (auto_now) keeps the stamp') or diag($out);
like($out, qr/"change_stamped": true/, 'a real change is stamped') or diag($out);
like($out, qr/"notes": 1/, "the new model's rows are isolated too") or diag($out);
like($out, qr/"no_tenant": "no tenant is set"/, 'no tenant: fails closed through the ORM') or diag($out);
is($node->safe_psql('appdb', q{
    SELECT string_agg(op || ' ' || (new_row->>'full_name'), ', ' ORDER BY id)
      FROM rowkeeper.audit_log WHERE table_name = 'shop_customer' AND op = 'UPDATE'}),
   'UPDATE renamed', 'only the real change was audited, not the no-op save');

like($node->safe_psql('appdb', q{
    SELECT string_agg(object || ' ' || status, ', ' ORDER BY object)
      FROM rowkeeper.preflight('{public}') WHERE check_name = 'coverage.audit'}),
     qr/^public\.django_migrations info$/, 'preflight: django_migrations skipped, the rest audited');

# Soft delete keeps the table: Django's introspection of a table before and
# after enable_soft_delete() differs only by the column it adds.  inspectdb
# reads a row of each table (SELECT * ... LIMIT 1), a query like any other
# under tenant isolation, so it runs with a tenant (doc/migrations.md).
local $ENV{PGOPTIONS} = '-c rowkeeper.tenant=1';
$node->safe_psql('appdb', q{ALTER TABLE shop_note ADD COLUMN deleted_at timestamptz});
my ($ran_before, $before, $err_before) = run_py('app_owner', 'manage.py', 'inspectdb', 'shop_note');
ok($ran_before, 'inspectdb shop_note before enable_soft_delete') or diag("$before\n$err_before");
$node->safe_psql('appdb', q{SELECT rowkeeper.enable_soft_delete('shop_note')});
my ($ran_after, $after, $err_after) = run_py('app_owner', 'manage.py', 'inspectdb', 'shop_note');
ok($ran_after, 'inspectdb shop_note after enable_soft_delete') or diag("$after\n$err_after");
like($before, qr/^class ShopNote\(models\.Model\):$/m, 'inspectdb describes the table before') or diag($before);
my %in_before = map { $_ => 1 } split /\n/, $before;
my %in_after = map { $_ => 1 } split /\n/, $after;
is(join("\n", grep { !$in_after{$_} } split /\n/, $before), '', 'inspectdb after: nothing of the table is gone');
like(join("\n", grep { !$in_before{$_} } split /\n/, $after),
     qr/^\s+deleted_batch = models\.\w+Field\(blank=True, null=True\)$/,
     'inspectdb after: only the batch column is new') or diag($after);
$node->safe_psql('appdb', q{SELECT rowkeeper.disable_soft_delete('shop_note')});
delete $ENV{PGOPTIONS};

($ran, $out, $err) = run_py('app_owner', 'manage.py', 'migrate', 'shop', 'zero');
ok($ran, 'manage.py migrate shop zero as the owner') or diag("$out\n$err");
is($node->safe_psql('appdb', q{
    SELECT (SELECT count(*) FROM rowkeeper.audited_tables) || ' ' ||
           (SELECT count(*) FROM rowkeeper.updated_at_tables) || ' ' ||
           (SELECT count(*) FROM rowkeeper.tenant_isolated_tables) || ' ' ||
           (SELECT count(*) FROM pg_class WHERE relname LIKE 'shop\_%' AND relkind = 'r')}),
   '0 0 0 0', 'the reverse migrations removed the rowkeeper configuration and the tables');

$node->stop;
done_testing();
