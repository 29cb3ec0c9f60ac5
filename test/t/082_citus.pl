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
#    the cluster, fails on a policy planted on the shards;
#  - audit of distributed and reference tables: entries under the logical
#    name with the coordinator's context and transaction time, once per
#    change (reference tables, TRUNCATE), history from the coordinator by
#    row_history, row_as_of, table_as_of, changes, changes_by and
#    audit_status (also for an application role, and a schema-sharded
#    table), one history across a shard move; statement mode,
#    replicated => true, undo of a worker's entry and distributing an
#    audited table that has rows are refused;
#  - updated_at on a distributed table: enable/disable, one clock per
#    transaction (the coordinator's) on every worker;
#  - purge_expired() on a distributed table, as its owner: dry run, batches
#    over rows that share one time, where_equals, rows referenced by a
#    co-located foreign key skipped.
# Soft delete and its purges on Citus tables: 087_citus_soft_delete.pl.
# The cluster comes from RowkeeperCitus.pm; skipped when Citus is not
# installed for the server under test (test/citus_setup.sh builds it for
# PostgreSQL 15 and 17).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RowkeeperCitus;

my ($coord, $w1, $w2) = citus_cluster();

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

# purge_expired() on a distributed table, run by the table's owner (the
# application role): a dry run counts, the real run deletes exactly the
# expired rows of every tenant in batches, also when they share one time
# (on a Citus table the batches pick by key: ctids are per shard and
# Citus plans no TID list across shards).
$coord->safe_psql('postgres', q{
    CREATE TABLE events (tenant_id int NOT NULL, id int NOT NULL, at timestamptz NOT NULL,
                         PRIMARY KEY (tenant_id, id));
    CREATE INDEX ON events (at);
    -- not co-located with accounts: the shard move below moves that group, and
    -- its shards must be owned by roles that may create in schema public
    SELECT create_distributed_table('events', 'tenant_id', shard_count => 4, colocate_with => 'none');
    ALTER TABLE events OWNER TO app;
    INSERT INTO events SELECT t, i, CASE WHEN i <= 4 THEN timestamptz '2020-01-01' ELSE now() END
      FROM generate_series(1, 4) t, generate_series(1, 6) i;
});
{
    my ($out, $err) = as_app(q{CALL rowkeeper.purge_expired('events', 'at', interval '30 days', dry_run => true) \gset
        SELECT outcome || ':' || (detail ->> 'public.events') || ':' || rows_deleted FROM rowkeeper.purge_runs
         WHERE target = 'public.events' ORDER BY id DESC LIMIT 1;
        SELECT count(*) FROM events;});
    is($err, '', 'purge_expired dry run on a distributed table: no error');
    is($out, "dry run:16:0\n24", 'purge_expired dry run counts the expired rows of every shard and deletes nothing');
    ($out, $err) = as_app(q{CALL rowkeeper.purge_expired('events', 'at', interval '30 days', batch_size => 3) \gset
        SELECT outcome || ':' || rows_deleted FROM rowkeeper.purge_runs
         WHERE target = 'public.events' ORDER BY id DESC LIMIT 1;
        SELECT string_agg(tenant_id || '/' || id, ',' ORDER BY tenant_id, id) FROM events;});
    is($err, '', 'purge_expired on a distributed table: no error');
    is($out, "done:16\n1/5,1/6,2/5,2/6,3/5,3/6,4/5,4/6",
        'purge_expired deletes exactly the expired rows of every tenant, in batches over tied times');
    # where_equals, and rows still referenced by a co-located foreign key
    # (the batch fails, then its rows are deleted one by one, skipping those)
    $coord->safe_psql('postgres', q{
        INSERT INTO events SELECT t, 10 + i, '2020-01-01' FROM generate_series(1, 4) t, generate_series(1, 3) i;
        CREATE TABLE event_refs (tenant_id int NOT NULL, id int NOT NULL, event_id int NOT NULL,
                                 PRIMARY KEY (tenant_id, id),
                                 FOREIGN KEY (tenant_id, event_id) REFERENCES events (tenant_id, id));
        SELECT create_distributed_table('event_refs', 'tenant_id', colocate_with => 'events');
        INSERT INTO event_refs VALUES (1, 1, 11), (3, 1, 12);
    });
    ($out, $err) = as_app(q{CALL rowkeeper.purge_expired('events', 'at', interval '30 days', where_equals => '{"tenant_id": 1}', batch_size => 2) \gset
        SELECT outcome || ':' || rows_deleted || ':' || rows_skipped FROM rowkeeper.purge_runs
         WHERE target = 'public.events' ORDER BY id DESC LIMIT 1;
        SELECT string_agg(tenant_id || '/' || id, ',' ORDER BY tenant_id, id) FROM events WHERE id > 10;});
    is($err, '', 'purge_expired with where_equals on a distributed table: no error');
    is($out, "done:2:1\n1/11,2/11,2/12,2/13,3/11,3/12,3/13,4/11,4/12,4/13",
        'purge_expired where_equals: only that tenant\'s expired rows, the referenced one skipped');
    ($out, $err) = as_app(q{CALL rowkeeper.purge_expired('events', 'at', interval '30 days', batch_size => 3) \gset
        SELECT outcome || ':' || rows_deleted || ':' || rows_skipped FROM rowkeeper.purge_runs
         WHERE target = 'public.events' ORDER BY id DESC LIMIT 1;
        SELECT string_agg(tenant_id || '/' || id, ',' ORDER BY tenant_id, id) FROM events WHERE id > 10;});
    is($err, '', 'purge_expired with referenced rows on a distributed table: no error');
    is($out, "done:8:2\n1/11,3/12",
        'purge_expired skips the rows a co-located foreign key still references, deletes the others');
}


################################################################ audit
# Audit of distributed and reference tables (src/sql/36_citus_audit.sql):
# entries under the Citus table's name and identity, with the
# coordinator's context and transaction time, once per logical change, on
# the node that holds the shard, read from the coordinator by every history
# function, one history across a shard move.
$coord->safe_psql('postgres', q{
    CREATE ROLE auditor LOGIN IN ROLE rowkeeper_auditor;
    GRANT SELECT ON accounts, orders, plans TO auditor;
    SELECT rowkeeper.enable_audit('accounts');
    SELECT rowkeeper.enable_audit('orders');
    SELECT rowkeeper.enable_audit('plans');
});
# Run SQL on the coordinator as the auditor; returns stdout, fails the
# test on an error.
sub as_auditor
{
    my ($sql) = @_;
    return $coord->safe_psql('postgres', "SET ROLE auditor;\n$sql");
}
# every node's log, one string per node (coordinator first)
my $all_logs = q{
    SELECT string_agg(r.result, ' | ' ORDER BY r.nodeid)
      FROM run_command_on_all_nodes($$SELECT coalesce(string_agg(table_name || ':' || op || ':' || coalesce(row_key::text, '-')
                                                                  || ':' || coalesce(actor, '-') || ':' || coalesce(tenant, '-')
                                                                  || ':' || coalesce(request_id, '-'), ' ' ORDER BY id), '')
                                         FROM rowkeeper.audit_log WHERE op <> 'AUDIT_REPAIR'$$) r};

tenant1(q{SELECT rowkeeper.set_context(actor => 'alice', request_id => 'req-1') \gset
          UPDATE accounts SET name = 'audited' WHERE id = 1;
          UPDATE plans SET code = 'p1-audited';},
    'audited writes of the own tenant');
my $logs = $coord->safe_psql('postgres', $all_logs);
unlike($logs, qr/_\d{6}/, 'no entry on any node carries a shard name') or diag($logs);
is(join(',', sort map { scalar(() = $_ =~ /accounts:UPDATE:/g) } split /\|/, $logs), '0,0,1',
    'the accounts change is logged once, on one worker (the one holding the shard)')
  or diag($logs);
like($logs, qr/accounts:UPDATE:\{"id": 1, "tenant_id": 1\}:alice:1:req-1/,
    'the entry on the worker carries the logical name and the coordinator\'s actor, tenant and request id');
is(scalar(() = $logs =~ /plans:UPDATE:/g), 1,
    'a reference table change is logged once, not once per copy') or diag($logs);

# one transaction time across workers: a superuser's UPDATE of every tenant
# (both workers) in one transaction logs the coordinator's transaction start
my $now = $coord->safe_psql('postgres', q{
    BEGIN;
    SELECT rowkeeper.set_context(actor => 'admin') \gset
    SELECT pg_sleep(0.3) \gset
    UPDATE orders SET amount = amount + 1 WHERE id = 1;
    SELECT now()::text;
    COMMIT;});
my @per_worker = split /,/, $coord->safe_psql('postgres', q{
    SELECT string_agg(r.result, ',' ORDER BY r.nodeport)
      FROM run_command_on_workers($$SELECT count(*) || ':' || coalesce(string_agg(DISTINCT logged_at::text, ';'), '')
                                     FROM rowkeeper.audit_log WHERE actor = 'admin'$$) r});
is(scalar(grep { /^[1-9]\d*:\Q$now\E$/ } @per_worker), 2,
    'one distributed transaction: the entries on both workers carry the coordinator\'s transaction start')
  or diag("coordinator now(): $now; workers: @per_worker");

# history from the coordinator
is(as_auditor(q{SELECT string_agg(op || ':' || (row_data ->> 'name') || ':' || actor || ':' || request_id, ',' ORDER BY audit_id)
                  FROM rowkeeper.row_history('accounts', '{"tenant_id": 1, "id": 1}')}),
    'UPDATE:audited:alice:req-1', 'row_history() on the coordinator finds the entry on the worker');

# a shard move: the history from before stays on the old node, the new
# entries land on the new one, row_history() shows both in order
my ($shard, $from) = split /\|/, $coord->safe_psql('postgres', q{
    SELECT s.shardid, s.nodeport FROM citus_shards s
     WHERE s.shardid = get_shard_id_for_distribution_column('accounts', 1)});
my $to = $from == $w1->port ? $w2 : $w1;
$coord->safe_psql('postgres', sprintf(q{SELECT citus_move_shard_placement(%d, '%s', %d, '%s', %d, shard_transfer_mode => 'block_writes')},
        $shard, $coord->host, $from, $to->host, $to->port));
is($coord->safe_psql('postgres', q{SELECT nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('accounts', 1) LIMIT 1}),
    $to->port, 'the shard of tenant 1 moved to the other worker');
is($to->safe_psql('postgres', q{SELECT count(*) FROM rowkeeper.audit_log WHERE table_name = 'accounts' AND op = 'INSERT'}),
    '0', 'moving a shard logs nothing (its copy is not a change)');
tenant1(q{SELECT rowkeeper.set_context(actor => 'bob', request_id => 'req-2') \gset
          UPDATE accounts SET name = 'moved' WHERE id = 1;},
    'write after the move');
is(as_auditor(q{SELECT string_agg(op || ':' || (row_data ->> 'name') || ':' || actor, ',' ORDER BY audit_id)
                  FROM rowkeeper.row_history('accounts', '{"tenant_id": 1, "id": 1}')}),
    'UPDATE:audited:alice,UPDATE:moved:bob', 'row_history() across a shard move: one history, in order');
is($coord->safe_psql('postgres', q{
    SELECT string_agg(r.result, ',' ORDER BY r.nodeport)
      FROM run_command_on_workers($$SELECT count(*) FROM rowkeeper.audit_log
                                     WHERE table_name = 'accounts' AND row_key = '{"id": 1, "tenant_id": 1}'$$) r}),
    '1,1', 'the two entries of the row are on the two workers');
is(as_auditor(q{SELECT string_agg(op || ':' || actor, ',' ORDER BY logged_at, id)
                  FROM rowkeeper.changes('accounts', now() - interval '1 hour')}),
    'UPDATE:alice,UPDATE:bob', 'changes() on the coordinator reads every node');
is(as_auditor(q{SELECT string_agg(table_name || ':' || op, ',' ORDER BY table_name)
                  FROM rowkeeper.changes_by('alice', now() - interval '1 hour')}),
    'accounts:UPDATE,plans:UPDATE', 'changes_by() on the coordinator reads every node');
# (they read the live rows too: as the superuser, whom isolation does not confine)
is($coord->safe_psql('postgres', q{SELECT rowkeeper.row_as_of('accounts', '{"tenant_id": 1, "id": 1}', now() - interval '1 hour') ->> 'name'}),
    'renamed', 'row_as_of() undoes the changes logged on both workers (to the name from before auditing)');
is($coord->safe_psql('postgres', q{SELECT j ->> 'name' FROM rowkeeper.table_as_of('accounts', now() - interval '1 hour') j
                 WHERE j @> '{"tenant_id": 1, "id": 1}'}),
    'renamed', 'table_as_of() undoes them too');
is(as_auditor(q{SELECT string_agg(table_name::text || ':' || entries, ',' ORDER BY table_name::text)
                  FROM rowkeeper.audit_status() WHERE table_name::text IN ('accounts', 'plans')}),
    'accounts:2,plans:1', 'audit_status() counts the entries on every node');
# an application role reads its tenant's history from the coordinator (the
# log's row-level security applies on the workers, with the tenant passed on)
$coord->safe_psql('postgres', q{GRANT rowkeeper_app TO app;});
is(tenant1(q{SELECT string_agg(actor, ',' ORDER BY audit_id) FROM rowkeeper.row_history('accounts', '{"tenant_id": 1, "id": 1}');},
        'app reads its history'),
    'alice,bob', 'an application role reads its own tenant\'s history from every node');
($out, $err) = as_app(q{BEGIN; SELECT rowkeeper.set_context(tenant => '2') \gset
    SELECT count(*) FROM rowkeeper.row_history('accounts', '{"tenant_id": 1, "id": 1}'); COMMIT;});
is("$out$err", '0', 'another tenant finds none of it');

# entry ids name one entry in the cluster; undo refuses one on a worker
my $wid = as_auditor(q{SELECT max(audit_id) FROM rowkeeper.row_history('accounts', '{"tenant_id": 1, "id": 1}')});
cmp_ok($wid, '>=', 2**48, 'an entry written on a worker has an id of that worker\'s range');
($out, $err) = ('', '');
$coord->psql('postgres', "SELECT rowkeeper.undo($wid)", stdout => \$out, stderr => \$err);
like($err, qr/audit entry \d+ is on a Citus worker/, 'undo() of an entry on a worker is refused');

# an actor (or request id) set for the session by a query that Citus
# pushes down to the shards would stay in the worker connections Citus
# keeps, and be recorded for later transactions that set none (behind a
# pooler: another client's): refused there
($out, $err) = as_app(q{BEGIN; SELECT rowkeeper.set_context(tenant => '1') \gset
    SELECT count(*) FROM (SELECT set_config('rowkeeper.actor', 'mallory', false) FROM accounts) s; COMMIT;});
like($err, qr/this setting cannot be changed by a query in a connection Citus opened/,
    'set_config() of the actor pushed down to the shards: refused on the worker');
# (one session, going on after the error, as a pooled connection would)
($out, $err) = ('', '');
$coord->psql('postgres', q{BEGIN; SELECT rowkeeper.set_context(tenant => '1') \gset
    SELECT count(*) FROM (SELECT set_config('rowkeeper.actor', 'mallory', false) FROM accounts) s; COMMIT;
    BEGIN; SELECT rowkeeper.set_context(tenant => '1') \gset
    UPDATE accounts SET name = name || '.' WHERE id = 3; COMMIT;},
    stdout => \$out, stderr => \$err, on_error_stop => 0, extra_params => [ '-U', 'app' ]);
is(as_auditor(q{SELECT coalesce(actor, '-') FROM rowkeeper.row_history('accounts', '{"tenant_id": 1, "id": 3}') ORDER BY audit_id DESC LIMIT 1}),
    '-', 'a later transaction without an actor records none, not one pushed down before');

# TRUNCATE: once, by the Citus table's trigger on the coordinator
$coord->safe_psql('postgres', q{
    CREATE TABLE scratch (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
    SELECT create_distributed_table('scratch', 'tenant_id', colocate_with => 'accounts');
    SELECT rowkeeper.enable_audit('scratch');
    INSERT INTO scratch SELECT t, 1 FROM generate_series(1, 4) t;
    TRUNCATE scratch;});
is($coord->safe_psql('postgres', q{
    SELECT string_agg(r.result, ',' ORDER BY r.nodeid)
      FROM run_command_on_all_nodes($$SELECT count(*) FROM rowkeeper.audit_log WHERE table_name = 'scratch' AND op = 'TRUNCATE'$$) r}),
    '1,0,0', 'TRUNCATE of a distributed table is logged once, on the coordinator');

# what is not supported is refused
($out, $err) = ('', '');
$coord->psql('postgres', q{SELECT rowkeeper.enable_audit('orders', mode => 'statement')}, stdout => \$out, stderr => \$err);
like($err, qr/statement mode is not supported on Citus table/, 'statement mode is refused on a Citus table');
$coord->psql('postgres', q{SELECT rowkeeper.enable_audit('orders', replicated => true)}, stdout => \$out, stderr => \$err);
like($err, qr/replicated => true is not supported on Citus table/, 'replicated => true is refused on a Citus table');
# audited before distributing: Citus's copy of the rows would be logged as
# new rows; the shards have no identity, so it is refused.  Citus writes
# the new table's metadata over one connection per worker and copies the
# rows over others (with citus.force_max_query_parallelization, one per
# shard): a shard that receives rows over those is not yet in the metadata
# its connection sees, and is refused all the same (such shards were once
# logged as tables of their own, under shard names).  One table per shard,
# each with one row in that shard only, so that every shard is the only
# one that could refuse.
my @one_per_shard = split /\n/, $coord->safe_psql('postgres', q{
    SELECT min(t) FROM generate_series(1, 1000) t
     GROUP BY get_shard_id_for_distribution_column('accounts', t) ORDER BY 1});
cmp_ok(scalar(@one_per_shard), '>=', 4, 'a tenant in each shard of accounts');
my @copied;
for my $t (@one_per_shard)
{
    $coord->safe_psql('postgres', qq{
        CREATE TABLE early_t$t (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
        INSERT INTO early_t$t VALUES ($t, 1);
        SELECT rowkeeper.enable_audit('early_t$t');});
    ($out, $err) = ('', '');
    $coord->psql('postgres', qq{SET citus.enable_unsafe_triggers = on; SET citus.force_max_query_parallelization = on;
        SELECT create_distributed_table('early_t$t', 'tenant_id', colocate_with => 'accounts')},
        stdout => \$out, stderr => \$err);
    push @copied, $t unless $err =~ /the audit identity of Citus table public\.early_t$t is not known on this node/;
}
is(join(',', @copied), '', 'distributing a table audited before, with rows: refused whichever shard its rows are in (their copy would be logged)');
# a partitioned table: a partition's shard fires the trigger inherited from
# the root's shard, named after that one
$coord->safe_psql('postgres', q{
    CREATE TABLE early_part (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id)) PARTITION BY RANGE (id);
    CREATE TABLE early_part_1 PARTITION OF early_part FOR VALUES FROM (0) TO (100);
    CREATE TABLE early_part_2 PARTITION OF early_part FOR VALUES FROM (100) TO (200);
    INSERT INTO early_part SELECT t, 100 * (t % 2) + t FROM generate_series(1, 40) t;
    SELECT rowkeeper.enable_audit('early_part');});
($out, $err) = ('', '');
$coord->psql('postgres', q{SET citus.enable_unsafe_triggers = on; SET citus.force_max_query_parallelization = on;
    SELECT create_distributed_table('early_part', 'tenant_id', colocate_with => 'accounts')},
    stdout => \$out, stderr => \$err);
like($err, qr/the audit identity of Citus table public\.early_part is not known on this node/,
    'distributing a partitioned table audited before, with rows: refused, naming the partitioned table');
is($coord->safe_psql('postgres', q{
    SELECT string_agg(r.result, ',' ORDER BY r.nodeid)
      FROM run_command_on_all_nodes($$SELECT count(*) FROM rowkeeper.audit_log WHERE table_name LIKE 'early%'$$) r}),
    '0,0,0', 'and nothing was logged, on any node');
$coord->safe_psql('postgres', q{
    CREATE TABLE early (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
    INSERT INTO early VALUES (1, 1), (2, 1), (3, 1), (4, 1);
    SELECT rowkeeper.enable_audit('early');});
$coord->safe_psql('postgres', q{
    TRUNCATE early;
    SET citus.enable_unsafe_triggers = on;
    SELECT create_distributed_table('early', 'tenant_id', colocate_with => 'accounts');});
$coord->psql('postgres', q{INSERT INTO early VALUES (1, 2)}, stdout => \$out, stderr => \$err);
like($err, qr/enable_audit\('public\.early'\)/, 'audited before distributing: writes fail until enable_audit() runs again, with the call in the hint');
$coord->safe_psql('postgres', q{SELECT rowkeeper.enable_audit('early'); INSERT INTO early VALUES (1, 2);});
is(as_auditor(q{SELECT string_agg(op, ',') FROM rowkeeper.row_history('early', '{"tenant_id": 1, "id": 2}')}),
    'INSERT', 'after enable_audit() again the table is audited on the workers');

# a migration tool runs a migration in one transaction: a table created
# and distributed there is not yet on the workers, so enable_audit() in the
# same transaction is refused (the workers' binding commits on its own),
# with a hint that says what to do, and nothing is left half done
($out, $err) = ('', '');
$coord->psql('postgres', q{BEGIN;
    CREATE TABLE migrated (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
    SELECT create_distributed_table('migrated', 'tenant_id', colocate_with => 'accounts');
    SELECT rowkeeper.enable_audit('migrated');
    COMMIT;}, stdout => \$out, stderr => \$err);
like($err, qr/could not give Citus table public\.migrated its audit identity on node .*HINT:  The workers see a table only once the transaction that created or distributed it has committed/s,
    'enable_audit() in the transaction that distributed the table: refused, with the reason in the hint');
is($coord->safe_psql('postgres', q{
    SELECT to_regclass('migrated') IS NULL AND NOT EXISTS (SELECT FROM rowkeeper.audit_status() WHERE table_name::text = 'migrated')}),
    't', 'and rolled back whole');

# a schema-sharded table (a single-shard Citus table) is audited the same way
$coord->safe_psql('postgres', q{
    GRANT USAGE ON SCHEMA crm TO auditor;
    SELECT rowkeeper.enable_audit('crm.contacts');});
tenant1(q{SELECT rowkeeper.set_context(actor => 'carol') \gset
          INSERT INTO crm.contacts VALUES (1, 7);}, 'audited write to a schema-sharded table');
is(as_auditor(q{SELECT string_agg(op || ':' || actor || ':' || tenant, ',') FROM rowkeeper.row_history('crm.contacts', '{"tenant_id": 1, "id": 7}')}),
    'INSERT:carol:1', 'schema-sharded table: the entry is found from the coordinator, with the context');
unlike($coord->safe_psql('postgres', $all_logs), qr/contacts_\d+/, 'schema-sharded table: no entry carries the shard name');

################################################################ updated_at
# enable/disable on a distributed table; the transaction clock is the
# coordinator's on every worker (one time per transaction)
$coord->safe_psql('postgres', q{
    ALTER TABLE orders ADD COLUMN updated_at timestamptz;
    SELECT rowkeeper.enable_updated_at('orders');});
$now = $coord->safe_psql('postgres', q{
    BEGIN;
    SELECT pg_sleep(0.3) \gset
    UPDATE orders SET amount = amount + 1 WHERE id = 2;
    SELECT now()::text;
    COMMIT;});
is($coord->safe_psql('postgres', q{
    SELECT count(DISTINCT s.nodeport) || ':' || string_agg(DISTINCT o.updated_at::text, ',')
      FROM orders o JOIN citus_shards s ON s.shardid = get_shard_id_for_distribution_column('orders', o.tenant_id)
     WHERE o.id = 2}),
    "2:$now", 'updated_at: rows on both workers get the coordinator\'s transaction start');
$coord->safe_psql('postgres', q{SELECT rowkeeper.disable_updated_at('orders');});
is($coord->safe_psql('postgres', q{SELECT count(*) FROM rowkeeper.updated_at_tables WHERE table_name = 'orders'::regclass}),
    '0', 'disable_updated_at() on a distributed table');

for my $node ($coord, $w1, $w2) { $node->stop; }
done_testing();
