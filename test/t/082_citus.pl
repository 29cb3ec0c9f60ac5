# 082_citus.pl: tenant isolation on a Citus cluster (a coordinator and two
# workers on unix sockets), as an application role without BYPASSRLS, on
# tables distributed by the tenant column (co-located) and a reference
# table:
#  - no cross-tenant read or write on any query shape: router, multi-shard,
#    co-located join, INSERT ... SELECT, COPY, reference table;
#  - no tenant set: an error, also with WHERE tenant_id = ...;
#  - the tenant from set_context() is what the workers use (a query pushed
#    down to every shard returns the workers' current_tenant()), whatever
#    way it was set or changed in the transaction (SET LOCAL then
#    set_context(), set_config(), a released savepoint);
#  - enable_tenant_isolation() before and after create_distributed_table,
#    disable and enable again on a distributed table;
#  - preflight() on the coordinator checks the shards' policies: clean on
#    the cluster, fails on a policy planted on the shards.
# Skipped when Citus is not installed for the server under test
# (test/citus_setup.sh builds it for PostgreSQL 15 and 17).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

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
is($coord->safe_psql('postgres', q{SELECT count(*) FROM citus_get_active_worker_nodes()}),
    '2', 'two workers');

# Schema and data, as the superuser (extension and role are propagated).
$coord->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE ROLE app LOGIN;
    CREATE TABLE accounts (tenant_id int NOT NULL, id int NOT NULL, name text,
                           PRIMARY KEY (tenant_id, id));
    CREATE TABLE orders (tenant_id int NOT NULL, id int NOT NULL, account_id int, amount int,
                         PRIMARY KEY (tenant_id, id));
    CREATE TABLE plans (tenant_id int NOT NULL, code text NOT NULL, PRIMARY KEY (tenant_id, code));
    -- enabled before distributing ...
    SELECT rowkeeper.enable_tenant_isolation('accounts');
    SET citus.enable_unsafe_triggers = on;
    SELECT create_distributed_table('accounts', 'tenant_id', shard_count => 8);
    SELECT create_distributed_table('orders', 'tenant_id', colocate_with => 'accounts');
    SELECT create_reference_table('plans');
    RESET citus.enable_unsafe_triggers;
    -- ... and after
    SELECT rowkeeper.enable_tenant_isolation('orders');
    SELECT rowkeeper.enable_tenant_isolation('plans');
    INSERT INTO accounts SELECT t, i, 'a' || t || '-' || i FROM generate_series(1, 4) t, generate_series(1, 5) i;
    INSERT INTO orders SELECT t, i, i, 10 * t FROM generate_series(1, 4) t, generate_series(1, 5) i;
    INSERT INTO plans SELECT t, 'p' || t FROM generate_series(1, 4) t;
    GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, orders, plans TO app;
});
is($coord->safe_psql('postgres',
        q{SELECT string_agg(DISTINCT nodeport::text, ',') <> '' AND count(DISTINCT nodeport) >= 2
            FROM citus_shards WHERE table_name = 'accounts'::regclass}),
    't', 'the shards of accounts are spread over the workers');

# Run SQL as the application role on the coordinator; returns (stdout, stderr).
sub as_app
{
    my ($sql) = @_;
    my ($out, $err) = ('', '');
    $coord->psql('postgres', $sql, stdout => \$out, stderr => \$err,
        extra_params => [ '-U', 'app', '-v', 'ON_ERROR_STOP=1' ]);
    return ($out, $err);
}

# Run SQL as the application role with tenant 1; returns stdout, fails the
# test on an error.
sub tenant1
{
    my ($sql, $name) = @_;
    my ($out, $err) = as_app("BEGIN; SELECT rowkeeper.set_context(tenant => '1') \\gset\n$sql\nCOMMIT;");
    is($err, '', "$name: no error");
    return $out;
}

################################################################ reads
is(tenant1(q{SELECT count(*) FROM accounts WHERE tenant_id = 2;}, 'router read'),
    '0', 'router read of another tenant finds nothing');
is(tenant1(q{SELECT count(*) FROM accounts WHERE tenant_id = 1;}, 'router read own'),
    '5', 'router read of the own tenant finds its rows');
is(tenant1(q{SELECT string_agg(DISTINCT tenant_id::text, ',') FROM accounts;}, 'multi-shard read'),
    '1', 'multi-shard read sees only the current tenant');
is(tenant1(q{SELECT string_agg(DISTINCT a.tenant_id::text || '/' || o.tenant_id::text, ',')
               FROM accounts a JOIN orders o ON o.tenant_id = a.tenant_id AND o.account_id = a.id;},
        'co-located join'),
    '1/1', 'co-located join sees only the current tenant');
is(tenant1(q{SELECT string_agg(DISTINCT tenant_id::text, ',') FROM plans;}, 'reference read'),
    '1', 'reference table read sees only the current tenant');
is(tenant1(q{COPY (SELECT tenant_id FROM accounts ORDER BY 1 LIMIT 1 OFFSET 4) TO STDOUT;
             COPY accounts (tenant_id) TO STDOUT;}, 'COPY TO') =~ /^(1\n)*1$/ ? 1 : 0,
    1, 'COPY ... TO reads only the current tenant');

################################################################ context on the workers
# current_tenant() evaluated next to the shard of each tenant, with the
# port of the node it runs on: the tenants live on both workers
my $where = $coord->safe_psql('postgres', q{
    SELECT string_agg(s.nodeport || ':' || t, ',' ORDER BY t)
      FROM generate_series(1, 4) t
      JOIN citus_shards s ON s.shardid = get_shard_id_for_distribution_column('accounts', t)});
my @seen;
for my $t (1 .. 4)
{
    my ($o, $e) = as_app(qq{BEGIN; SELECT rowkeeper.set_context(tenant => '$t') \\gset
        SELECT string_agg(DISTINCT current_setting('port') || ':' || rowkeeper.current_tenant(), ',') FROM accounts;
        COMMIT;});
    push @seen, "$o$e";
}
is(join(',', @seen), $where, 'the workers holding each tenant see the tenant from set_context()');
my %ports = map { (split /:/)[0] => 1 } split /,/, $where;
is(join(',', sort keys %ports), join(',', sort map { $_->port } ($w1, $w2)), 'the tenants are on both workers');

# actor and request id reach the workers too (what triggers on the shards record)
is(tenant1(q{SELECT rowkeeper.set_context(actor => 'alice', request_id => 'r-1') \gset
             SELECT string_agg(DISTINCT rowkeeper.current_actor() || '/' || rowkeeper.current_request_id(), ',')
               FROM accounts;}, 'actor on the shards'),
    'alice/r-1', 'the workers see actor and request id from set_context()');

my ($out, $err) = as_app(q{
    BEGIN;
    SET LOCAL citus.propagate_set_commands = 'local';
    SET LOCAL rowkeeper.tenant = '2';
    SELECT count(*) FROM accounts \gset
    SELECT rowkeeper.set_context(tenant => '1') \gset
    SELECT rowkeeper.current_tenant() || ':' || string_agg(DISTINCT tenant_id::text, ',') FROM accounts;
    COMMIT;});
is("$out$err", '1:1', 'SET LOCAL then set_context(): coordinator and workers agree on the new tenant');
($out, $err) = as_app(q{
    BEGIN;
    SELECT set_config('rowkeeper.tenant', '3', true) \gset
    SELECT string_agg(DISTINCT tenant_id::text, ',') || ':' || string_agg(DISTINCT rowkeeper.current_tenant(), ',') FROM accounts;
    COMMIT;});
is("$out$err", '3:3', 'set_config() reaches the workers');
($out, $err) = as_app(q{
    BEGIN;
    SELECT rowkeeper.set_context(tenant => '2') \gset
    SELECT count(*) FROM accounts WHERE tenant_id = 2 \gset
    SAVEPOINT s;
    SELECT rowkeeper.set_context(tenant => '4') \gset
    RELEASE SAVEPOINT s;
    SELECT rowkeeper.current_tenant() || ':' || string_agg(DISTINCT tenant_id::text, ',') FROM accounts;
    SELECT string_agg(DISTINCT tenant_id::text, ',') FROM orders;
    COMMIT;});
is("$out$err", "4:4\n4", 'a tenant set in a released savepoint reaches every worker');
($out, $err) = as_app(q{
    BEGIN;
    SELECT rowkeeper.set_context(tenant => '2') \gset
    SAVEPOINT s;
    SELECT rowkeeper.set_context(tenant => '4') \gset
    SELECT count(*) FROM accounts \gset
    ROLLBACK TO SAVEPOINT s;
    SELECT rowkeeper.current_tenant() || ':' || string_agg(DISTINCT tenant_id::text, ',') FROM accounts;
    COMMIT;});
is("$out$err", '2:2', 'a rolled back savepoint takes the tenant back on the workers too');

################################################################ no tenant
($out, $err) = as_app(q{SELECT count(*) FROM accounts WHERE tenant_id = 1;});
like($err, qr/no tenant is set/, 'no tenant: a router read fails');
($out, $err) = as_app(q{SELECT count(*) FROM accounts;});
like($err, qr/no tenant is set/, 'no tenant: a multi-shard read fails');
($out, $err) = as_app(q{SELECT count(*) FROM plans;});
like($err, qr/no tenant is set/, 'no tenant: a reference table read fails');
($out, $err) = as_app(q{BEGIN; SELECT rowkeeper.set_context(tenant => '1') \gset
    SELECT rowkeeper.set_context(tenant => '') \gset
    SELECT count(*) FROM accounts; COMMIT;});
like($err, qr/no tenant is set/, 'a tenant cleared on the coordinator is cleared on the workers');

# a session SET outside a transaction block: Citus sends nothing outside
# one, so the workers have no tenant (never another one)
($out, $err) = as_app(q{SET rowkeeper.tenant = '1';
    SELECT string_agg(DISTINCT tenant_id::text, ',') FROM accounts;});
ok($err =~ /no tenant is set/ || ($out eq '1' && $err eq ''),
    'a session SET outside a transaction block: the own tenant or no tenant, never another')
  or diag("out: $out, err: $err");

################################################################ schema-based sharding
$coord->safe_psql('postgres', q{
    SET citus.enable_schema_based_sharding = on;
    CREATE SCHEMA crm;
    RESET citus.enable_schema_based_sharding;
    CREATE TABLE crm.contacts (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
    SELECT rowkeeper.enable_tenant_isolation('crm.contacts');
    INSERT INTO crm.contacts SELECT t, i FROM generate_series(1, 4) t, generate_series(1, 3) i;
    GRANT USAGE ON SCHEMA crm TO app;
    GRANT SELECT, INSERT, UPDATE, DELETE ON crm.contacts TO app;
});
is($coord->safe_psql('postgres', q{SELECT count(*) FROM citus_shards WHERE table_name = 'crm.contacts'::regclass}),
    '1', 'a schema-sharded table (one shard)');
is(tenant1(q{SELECT string_agg(DISTINCT tenant_id::text, ',') FROM crm.contacts;}, 'schema-sharded read'),
    '1', 'schema-sharded table: reads see only the current tenant');
($out, $err) = as_app(q{BEGIN; SELECT rowkeeper.set_context(tenant => '1') \gset
    INSERT INTO crm.contacts VALUES (2, 99); COMMIT;});
like($err, qr/row-level security/, 'schema-sharded table: INSERT of another tenant\'s row is refused');
tenant1(q{DELETE FROM crm.contacts;}, 'schema-sharded delete');
is($coord->safe_psql('postgres', q{SELECT string_agg(DISTINCT tenant_id::text, ',' ORDER BY tenant_id::text) FROM crm.contacts}),
    '2,3,4', 'schema-sharded table: DELETE removed only the tenant\'s rows');

################################################################ writes
($out, $err) = as_app(q{BEGIN; SELECT rowkeeper.set_context(tenant => '1') \gset
    INSERT INTO accounts VALUES (2, 99, 'intruder'); COMMIT;});
like($err, qr/row-level security/, 'INSERT of another tenant\'s row is refused');
($out, $err) = as_app(q{BEGIN; SELECT rowkeeper.set_context(tenant => '1') \gset
    INSERT INTO plans VALUES (2, 'intruder'); COMMIT;});
like($err, qr/row-level security/, 'INSERT of another tenant\'s row into a reference table is refused');
($out, $err) = as_app(q{BEGIN; SELECT rowkeeper.set_context(tenant => '1') \gset
    INSERT INTO orders (tenant_id, id, amount) SELECT 2, id + 100, 0 FROM accounts; COMMIT;});
like($err, qr/row-level security/, 'INSERT ... SELECT of another tenant\'s rows is refused');
($out, $err) = as_app(qq{BEGIN; SELECT rowkeeper.set_context(tenant => '1') \\gset
    COPY accounts FROM STDIN;\n2\t98\tcopied\n\\.\nCOMMIT;});
isnt($err, '', 'COPY of another tenant\'s row is refused');
tenant1(q{INSERT INTO accounts (id, name) VALUES (50, 'filled');
          INSERT INTO orders (tenant_id, id, amount) SELECT tenant_id, id + 100, 1 FROM accounts;
          UPDATE accounts SET name = 'renamed';
          UPDATE plans SET code = code || 'x';
          DELETE FROM orders WHERE tenant_id = 2;
          DELETE FROM orders WHERE amount = 20;
          UPDATE orders SET amount = 0 WHERE tenant_id = 3;},
    'writes of the own tenant');
is($coord->safe_psql('postgres', q{
    SELECT string_agg(format('%s:%s', tenant_id, n), ' ' ORDER BY tenant_id)
      FROM (SELECT tenant_id, count(*) FILTER (WHERE name = 'renamed') AS n FROM accounts GROUP BY 1) s}),
    '1:6 2:0 3:0 4:0', 'UPDATE changed only the tenant\'s rows; the tenant column was filled on INSERT');
is($coord->safe_psql('postgres', q{
    SELECT string_agg(format('%s:%s:%s', tenant_id, n, s), ' ' ORDER BY tenant_id)
      FROM (SELECT tenant_id, count(*) AS n, sum(amount) AS s FROM orders GROUP BY 1) x}),
    '1:11:56 2:5:100 3:5:150 4:5:200',
    'INSERT ... SELECT copied only the tenant\'s rows; DELETE and UPDATE left other tenants alone');
is($coord->safe_psql('postgres', q{SELECT string_agg(code, ',' ORDER BY code) FROM plans}),
    'p1x,p2,p3,p4', 'reference table UPDATE changed only the tenant\'s row, on every copy');
is($coord->safe_psql('postgres', q{
    SELECT count(DISTINCT r.result) FROM run_command_on_placements('plans',
        $$SELECT string_agg(code, ',' ORDER BY code) FROM %s$$) r}),
    '1', 'every copy of the reference table is the same');

################################################################ enable / disable
$coord->safe_psql('postgres', q{
    SELECT rowkeeper.disable_tenant_isolation('orders');
    SELECT rowkeeper.enable_tenant_isolation('orders');
});
is(tenant1(q{SELECT string_agg(DISTINCT tenant_id::text, ',') FROM orders;}, 'enabled again'),
    '1', 'disable and enable again on a distributed table: isolated');
is($coord->safe_psql('postgres', q{
    SELECT string_agg(table_name::text || ':' || fills_on_insert, ',' ORDER BY table_name::text)
      FROM rowkeeper.tenant_isolated_tables}),
    'accounts:true,crm.contacts:true,orders:true,plans:true', 'tenant_isolated_tables lists the Citus tables');

################################################################ preflight
my $citus_checks = q{
    SELECT string_agg(check_name || ' ' || status || coalesce(' ' || object, ''), E'\n' ORDER BY 1, 3)
      FROM rowkeeper.preflight() WHERE check_name LIKE 'tenant.citus%' AND status <> 'ok'};
is($coord->safe_psql('postgres', $citus_checks), '', 'preflight: the shards\' policies are clean');
is($coord->safe_psql('postgres', q{
    SELECT count(*) FROM rowkeeper.preflight() WHERE check_name = 'tenant.citus_shard_policies' AND status = 'ok'}),
    '1', 'preflight checks the shards\' policies');
# a leak planted on the shards behind the coordinator's back
$coord->safe_psql('postgres', q{
    SELECT count(*) FROM run_command_on_placements('orders',
        $$CREATE POLICY planted ON %s USING (true)$$)});
($out, $err) = as_app(q{BEGIN; SELECT rowkeeper.set_context(tenant => '1') \gset
    SELECT string_agg(DISTINCT tenant_id::text, ',' ORDER BY tenant_id::text) FROM orders; COMMIT;});
is($out, '1,2,3,4', 'the planted policy leaks (this is what preflight must find)');
like($coord->safe_psql('postgres', $citus_checks), qr/^tenant.citus_shard_policies fail public.orders$/m,
    'preflight fails on the planted policy');

# Soft delete is refused on Citus tables: its restrictive policy would reach
# the shards as a permissive one and be OR'ed with the tenant policies.
{
    my ($ret, $out, $err) = (0, '', '');
    $ret = $coord->psql('postgres',
        q{ALTER TABLE accounts ADD COLUMN deleted_at timestamptz, ADD COLUMN deleted_batch bigint;
          SELECT rowkeeper.enable_soft_delete('accounts');},
        stdout => \$out, stderr => \$err);
    like($err, qr/is a Citus table/, 'enable_soft_delete refuses a distributed table');
    is($coord->safe_psql('postgres',
        q{SELECT count(*) FROM pg_policies WHERE tablename = 'accounts' AND policyname LIKE '%soft%'}),
       '0', 'no soft-delete policy was created on the distributed table');
}

for my $node ($coord, $w1, $w2) { $node->stop; }
done_testing();
