# 063_tenant_dump.pl: tenant isolation survives pg_dump and restore.  Its
# configuration is ordinary catalog state (forced RLS, the two policies,
# the column default, the immutable trigger, the commented index), so a
# dump carries it and the restored table is as isolated as the original.
# The restore runs as a superuser: FORCE ROW LEVEL SECURITY makes the
# owner subject to the policies, and PostgreSQL refuses COPY FROM for
# roles under RLS, so data must be restored by a role that bypasses it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE ROLE app;
    CREATE TABLE invoices (id int PRIMARY KEY, tenant_id uuid NOT NULL, amount int);
    CREATE TABLE events (id int, org bigint NOT NULL, at date NOT NULL) PARTITION BY RANGE (at);
    CREATE TABLE events_2026 PARTITION OF events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    SELECT rowkeeper.enable_tenant_isolation('invoices');
    SELECT rowkeeper.enable_tenant_isolation('events', 'org', grant_access => false);
    CREATE POLICY events_read ON events FOR SELECT USING (true);
    CREATE POLICY events_2026_read ON events_2026 FOR SELECT USING (true);
    INSERT INTO invoices VALUES (1, 'aaaaaaaa-0000-0000-0000-000000000001', 10),
                                (2, 'bbbbbbbb-0000-0000-0000-000000000002', 20);
    INSERT INTO events VALUES (1, 7, '2026-05-01'), (2, 8, '2026-06-01');
    GRANT SELECT, INSERT ON invoices, events, events_2026 TO app;
});

# What isolation consists of, per table, in a form to compare.
my $state_sql = q{
    SELECT string_agg(x, E'\n' ORDER BY x) FROM (
        SELECT format('%s|%s|%s|%s|%s|%s|%s|%s', table_name, column_name, column_type,
                      rls_enabled, rls_forced, grant_access, fills_on_insert, indexed) AS x
          FROM rowkeeper.tenant_isolated_tables
        UNION ALL
        SELECT format('%s|%s|%s|%s', polrelid::regclass, polname, polpermissive,
                      pg_get_expr(polqual, polrelid))
          FROM pg_policy
        UNION ALL
        SELECT format('%s|%s', indexrelid::regclass, obj_description(indexrelid, 'pg_class'))
          FROM pg_index WHERE obj_description(indexrelid, 'pg_class') LIKE 'rowkeeper%'
        UNION ALL
        SELECT format('%s|%s', polrelid::regclass, obj_description(oid, 'pg_policy'))
          FROM pg_policy WHERE polname = 'rowkeeper_tenant_isolation') s
};
my $before = $node->safe_psql('postgres', $state_sql);
is(scalar(() = $before =~ /rowkeeper_tenant_/g), 4,
    'before: two policies on invoices, the restrictive one on events and events_2026')
  or diag($before);

my $dump = $node->basedir . '/dump.sql';
command_ok([ 'pg_dump', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'),
             '-f', $dump ], 'restore as a superuser');

is($node->safe_psql('restored', $state_sql), $before,
    'policies, default, trigger, index and recorded RLS state restored');
is($node->safe_psql('restored', 'SELECT count(*) FROM invoices') . '/'
   . $node->safe_psql('restored', 'SELECT count(*) FROM events'),
    '2/2', 'all rows restored');

my ($ret, $out, $err) = $node->psql('restored', q{SET ROLE app; SELECT count(*) FROM invoices});
like($err, qr/no tenant is set/, 'restored table fails closed without a tenant');
is($node->safe_psql('restored', q{
    SET ROLE app;
    BEGIN;
    SELECT rowkeeper.set_context(tenant => 'bbbbbbbb-0000-0000-0000-000000000002');
    INSERT INTO invoices (id, amount) VALUES (3, 30);
    SELECT string_agg(id::text, ',' ORDER BY id) FROM invoices;
    SELECT rowkeeper.set_context(tenant => '8');
    SELECT string_agg(id::text, ',' ORDER BY id) FROM events;
    COMMIT;
}), "\n2,3\n\n2", 'restored tables show one tenant and fill the column');
($ret, $out, $err) = $node->psql('restored',
    q{UPDATE invoices SET tenant_id = 'aaaaaaaa-0000-0000-0000-000000000001' WHERE id = 2});
like($err, qr/cannot be changed/, 'restored tenant column is immutable');

# disable on the restored copy puts RLS back as it was
$node->safe_psql('restored', q{
    SELECT rowkeeper.disable_tenant_isolation('invoices');
    SELECT rowkeeper.disable_tenant_isolation('events');
});
is($node->safe_psql('restored', q{
    SELECT string_agg(format('%s:%s:%s', relname, relrowsecurity, relforcerowsecurity), ' ' ORDER BY relname)
      FROM pg_class WHERE relname IN ('invoices', 'events', 'events_2026')}),
    'events:f:f events_2026:f:f invoices:f:f', 'disable after restore restores RLS state');

$node->stop;
done_testing();
