# 087_citus_soft_delete.pl: soft delete and its purges on a Citus cluster
# (a coordinator and two workers on unix sockets, RowkeeperCitus.pm), as an
# application role without BYPASSRLS, on tables distributed by the tenant
# column (co-located), a reference table and a schema-sharded table, each
# with tenant isolation and soft delete (enabled after distributing, by
# the tables' owner, a role without BYPASSRLS; soft delete before tenant
# isolation on some tables, after it on others):
#  1. enable_soft_delete() works on every kind of Citus table; every
#     placement has the guard trigger, the hiding condition and forced RLS,
#     and no policy there lets rows of another tenant through (Citus makes
#     them all permissive on the shards); preflight() is clean;
#  2. DELETE by key, with a multi-shard WHERE, with RETURNING, and without
#     WHERE on a reference table: the command tags count the rows; the rows
#     are gone from every read shape and still on the shards, marked with
#     one batch and one time for the whole transaction (across both
#     workers) and the actor; other tenants' rows untouched;
#  3. no cross-tenant path: a DELETE of another tenant's rows marks none,
#     another tenant's deleted rows stay hidden even with show_deleted (the
#     application role may not see deleted rows at all), no tenant is an
#     error, an UPDATE can neither mark rows by hand (nor with the
#     coordinator's settings forged on a worker) nor reach or revive
#     deleted ones, and a DELETE on a shard straight on the worker removes
#     nothing;
#  4. the owner and a member of rowkeeper_see_deleted, with show_deleted
#     on (SET LOCAL or set_config()), see their tenant's deleted rows (the
#     setting reaches the workers), never another tenant's;
#  5. restore(): by a member of rowkeeper_see_deleted, of its tenant's rows
#     only, clearing the columns on the shards (every copy of a reference
#     table); refused with a clear error for another tenant's row, a live
#     row, and for the application role;
#  6. hard_delete(): by the owner, removes the deleted row on the shards;
#     refused for the application role; a live row and another tenant's row
#     stay;
#  7. purge_soft_deleted(): by the owner of a table (a BYPASSRLS migration
#     role, so it purges every tenant): dry run, then exactly the rows
#     deleted before the cutoff, in batches over shards and tenants,
#     recorded in purge_runs; by an owner confined by isolation and without
#     a tenant it fails closed;
#  8. audit: the soft DELETE is logged as SOFT_DELETE and restore() as
#     RESTORE, found from the coordinator by row_history();
#  9. foreign keys: a soft delete follows them on the shards (CASCADE two
#     levels deep with one batch, time and deleter; RESTRICT refuses,
#     naming the Citus tables; from a distributed table to a reference
#     table), restore() brings back the children, hard_delete() removes
#     them; keys added after enabling and dropped again without a
#     deadlock; refused, with a clear error: soft delete on a Citus table
#     with policies of its own (a policy created afterwards: refused or
#     preflight fails), time_zone => 'session' for a timestamp column; a
#     timestamp(3) column is marked in UTC;
# 10. a shard move: the new placements have the guard and only tenant-
#     confined policies, soft delete works there;
# 11. preflight() fails on a permissive USING (true) policy planted on one
#     worker's shard;
# 12. disable_soft_delete(force => true): guard and hiding condition leave
#     every placement, tenant isolation stays;
# 13. a local table that has soft delete still cannot be distributed and
#     leaves no hiding policy on any worker.
# Skipped when Citus is not installed for the server under test
# (test/citus_setup.sh builds it for PostgreSQL 15 and 17).
use strict;
use warnings;
use FindBin;
use lib $FindBin::RealBin;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use RowkeeperCitus;

my ($coord, $w1, $w2) = citus_cluster();

# Roles (propagated by Citus; the memberships of rowkeeper's own roles are
# granted on the workers too, where the extension created those roles):
#   app         the application: DML grants, no BYPASSRLS, no see_deleted
#   owner_role  owns the tables (the migration role), no BYPASSRLS
#   support     member of rowkeeper_see_deleted, DML grants
#   migrator    BYPASSRLS owner of tasks, the table the purge job purges
#   auditor     member of rowkeeper_auditor
$coord->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE ROLE app LOGIN;
    CREATE ROLE owner_role LOGIN;
    CREATE ROLE support LOGIN;
    CREATE ROLE migrator LOGIN BYPASSRLS;
    CREATE ROLE auditor LOGIN;
    GRANT rowkeeper_see_deleted TO support;
    GRANT rowkeeper_auditor TO auditor;
    SELECT count(*) FROM run_command_on_workers($$GRANT rowkeeper_see_deleted TO support$$);
    SELECT count(*) FROM run_command_on_workers($$GRANT rowkeeper_auditor TO auditor$$);
});
is($coord->safe_psql('postgres', q{
    SELECT string_agg(r.result, ',' ORDER BY r.nodeid) FROM run_command_on_all_nodes($$
        SELECT pg_has_role('support', 'rowkeeper_see_deleted', 'MEMBER')::text || '/'
               || (SELECT rolbypassrls FROM pg_roles WHERE rolname = 'migrator')::text || '/'
               || (SELECT rolbypassrls FROM pg_roles WHERE rolname = 'owner_role')::text$$) r}),
    'true/true/false,true/true/false,true/true/false',
    'set-up: the roles are the same on every node');

# Tables, distributed first, then owned by owner_role (migrator: tasks);
# orders has the soft-delete columns already, the others get them added.
$coord->safe_psql('postgres', q{
    CREATE TABLE accounts (tenant_id int NOT NULL, id int NOT NULL, name text,
                           PRIMARY KEY (tenant_id, id));
    CREATE TABLE orders (tenant_id int NOT NULL, id int NOT NULL, account_id int, amount int,
                         deleted_at timestamptz, deleted_batch bigint, deleted_by text,
                         PRIMARY KEY (tenant_id, id));
    CREATE TABLE tasks (tenant_id int NOT NULL, id int NOT NULL, title text, deleted_at timestamptz,
                        PRIMARY KEY (tenant_id, id));
    CREATE INDEX ON tasks (deleted_at);     -- the purge walks it
    CREATE TABLE plans (tenant_id int NOT NULL, code text NOT NULL, PRIMARY KEY (tenant_id, code));
    SELECT create_distributed_table('accounts', 'tenant_id', shard_count => 8);
    SELECT create_distributed_table('orders', 'tenant_id', colocate_with => 'accounts');
    SELECT create_distributed_table('tasks', 'tenant_id', colocate_with => 'accounts');
    SELECT create_reference_table('plans');
    SET citus.enable_schema_based_sharding = on;
    CREATE SCHEMA crm;
    RESET citus.enable_schema_based_sharding;
    CREATE TABLE crm.contacts (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
    GRANT USAGE ON SCHEMA crm TO app, owner_role, support, auditor;
    INSERT INTO accounts SELECT t, i, 'a' || t || '-' || i FROM generate_series(1, 4) t, generate_series(1, 6) i;
    INSERT INTO orders (tenant_id, id, account_id, amount)
      SELECT t, i, i, 10 * i FROM generate_series(1, 4) t, generate_series(1, 6) i;
    INSERT INTO tasks SELECT t, i, 't' || i FROM generate_series(1, 4) t, generate_series(1, 6) i;
    INSERT INTO plans SELECT t, 'p' || i FROM generate_series(1, 4) t, generate_series(1, 3) i;
    INSERT INTO crm.contacts SELECT t, i FROM generate_series(1, 4) t, generate_series(1, 4) i;
    ALTER TABLE accounts OWNER TO owner_role;
    ALTER TABLE orders OWNER TO owner_role;
    ALTER TABLE plans OWNER TO owner_role;
    ALTER TABLE crm.contacts OWNER TO owner_role;
    ALTER TABLE tasks OWNER TO migrator;
    GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, orders, plans, crm.contacts, tasks TO app, support;
    GRANT SELECT ON accounts, orders, plans, crm.contacts, tasks TO auditor;
});
is($coord->safe_psql('postgres', q{
    SELECT count(DISTINCT s.nodeport) FROM generate_series(1, 4) t
      JOIN citus_shards s ON s.shardid = get_shard_id_for_distribution_column('accounts', t)}),
    '2', 'set-up: the tenants of the distributed tables are on both workers');
is($coord->safe_psql('postgres', q{
    SELECT count(*) || ':' || count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'plans'::regclass}),
    '3:3', 'set-up: the reference table has a copy on the coordinator and on each worker');
is($coord->safe_psql('postgres', q{SELECT count(*) FROM citus_shards WHERE table_name = 'crm.contacts'::regclass}),
    '1', 'set-up: crm.contacts is schema-sharded (one shard)');

################################################################ helpers
# psql as ROLE on NODE (database postgres), stopping at the first error;
# returns (stdout, stderr).  tags => 1: not quiet, so the command tags
# ("DELETE 2") are printed, without those of BEGIN, COMMIT and SET.
sub psql_as
{
    my ($node, $role, $sql, %opt) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run([ $node->installed_command('psql'), '-X', '-A', '-t', ($opt{tags} ? () : ('-q')),
                    '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') . " user=$role", '-f', '-' ],
                  '<', \$sql, '>', \$out, '2>', \$err);
    $out = join("\n", grep { !/^(BEGIN|COMMIT|ROLLBACK|SET)$/ } split /\n/, $out);
    chomp $err;
    return ($out, $err);
}

# One transaction on the coordinator as ROLE with the tenant (and actor)
# set by set_context(); returns (stdout, stderr).
sub in_tenant
{
    my ($role, $tenant, $sql, %opt) = @_;
    my $actor = $opt{actor} // 'alice';
    return psql_as($coord, $role, "BEGIN;\nSELECT rowkeeper.set_context(tenant => '$tenant', actor => '$actor') \\gset\n"
                   . "$sql\nCOMMIT;\n", %opt);
}

# The same, expecting no error (one test "NAME: no error"); returns stdout.
sub ok_in_tenant
{
    my ($role, $tenant, $sql, $name, %opt) = @_;
    my ($out, $err) = in_tenant($role, $tenant, $sql, %opt);
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    is($err, '', "$name: no error");
    return $out;
}

# As the superuser on the coordinator (bypasses row-level security):
# stdout, or "ERROR: ..." (the test goes on).
sub su
{
    my ($out, $err) = ('', '');
    my $ret = $coord->psql('postgres', $_[0], stdout => \$out, stderr => \$err, on_error_stop => 1);
    return $ret == 0 ? $out : "ERROR: $err";
}

my %key = (accounts => 'id', orders => 'id', tasks => 'id', 'crm.contacts' => 'id', plans => 'code');

# The rows of TABLE matching WHERE as they are stored on the workers: read
# on every placement, as the superuser, from the shard itself.  One
# "tenant/key:live" or "tenant/key:deleted:by" per row, sorted; for the
# reference table the copies must agree (else every copy is shown).
sub on_shards
{
    my ($tbl, $where) = @_;
    my $k = $key{$tbl};
    my $row = qq{tenant_id || '/' || $k || ':' || CASE WHEN deleted_at IS NULL AND deleted_batch IS NULL AND deleted_by IS NULL THEN 'live'
                   WHEN deleted_at IS NOT NULL AND deleted_batch IS NOT NULL THEN 'deleted:' || coalesce(deleted_by, '-')
                   ELSE 'inconsistent' END};
    my $res = su(qq{
        SELECT string_agg(r.nodeport || '=' || CASE WHEN r.success THEN r.result ELSE 'ERROR ' || r.result END,
                          E'\\n' ORDER BY r.shardid, r.nodeport)
          FROM run_command_on_placements('$tbl',
                 \$cmd\$SELECT coalesce(string_agg($row, ',' ORDER BY tenant_id, $k), '') FROM %1\$s WHERE $where\$cmd\$) r});
    my @placements = map { [ split /=/, $_, 2 ] } split /\n/, $res;
    if ($tbl eq 'plans')
    {
        my %distinct = map { $_->[1] => 1 } @placements;
        return (keys %distinct) == 1 ? (keys %distinct)[0] : "copies differ: $res";
    }
    return join(',', sort map { $_->[1] eq '' ? () : split(/,/, $_->[1]) } @placements);
}

# Per placement, as the superuser: the values of a one-column query SQL
# over the shard (%1$s; a literal % is %%), of every placement of every
# TABLE, distinct, sorted, joined by ','.
sub distinct_on_shards
{
    my ($sql, @tables) = @_;
    my %seen;
    for my $tbl (@tables)
    {
        my $res = su(qq{
            SELECT string_agg(CASE WHEN r.success THEN r.result ELSE 'ERROR ' || r.result END, E'\\n')
              FROM run_command_on_placements('$tbl',
                     \$cmd\$SELECT coalesce(string_agg(DISTINCT x::text, E'\\n'), '') FROM ($sql) x(x)\$cmd\$) r});
        $seen{$_} = 1 for grep { $_ ne '' } split /\n/, $res;
    }
    return join(',', sort keys %seen);
}

# Rows per tenant and table, live/deleted, as the superuser: other tenants'
# rows must never change when tenant 1 deletes.
my $per_tenant = q{
    SELECT string_agg(x, ' ' ORDER BY x) FROM (
        SELECT 'accounts:' || tenant_id || ':' || count(*) || '/' || count(deleted_at) AS x FROM accounts GROUP BY tenant_id
        UNION ALL SELECT 'orders:' || tenant_id || ':' || count(*) || '/' || count(deleted_at) FROM orders GROUP BY tenant_id
        UNION ALL SELECT 'plans:' || tenant_id || ':' || count(*) || '/' || count(deleted_at) FROM plans GROUP BY tenant_id
        UNION ALL SELECT 'contacts:' || tenant_id || ':' || count(*) || '/' || count(deleted_at) FROM crm.contacts GROUP BY tenant_id
        UNION ALL SELECT 'tasks:' || tenant_id || ':' || count(*) || '/' || count(deleted_at) FROM tasks GROUP BY tenant_id) s
     WHERE x NOT LIKE '%:1:%'};

################################################################ 1. enable
# by the owner, after distributing; soft delete before tenant isolation on
# accounts and plans, after it on orders, crm.contacts and tasks
my ($out, $err);
for my $step (
    [ 'owner_role', q{SELECT rowkeeper.enable_soft_delete('accounts', deleted_by_column => 'deleted_by')},
      'enable_soft_delete() on a distributed table (before tenant isolation)' ],
    [ 'owner_role', q{SELECT rowkeeper.enable_tenant_isolation('accounts')},
      'enable_tenant_isolation() on a distributed soft-delete table' ],
    [ 'owner_role', q{SELECT rowkeeper.enable_tenant_isolation('orders')},
      'enable_tenant_isolation() on a co-located distributed table' ],
    [ 'owner_role', q{SELECT rowkeeper.enable_soft_delete('orders', deleted_by_column => 'deleted_by')},
      'enable_soft_delete() on a distributed tenant-isolated table (its columns exist)' ],
    [ 'owner_role', q{SELECT rowkeeper.enable_soft_delete('plans', deleted_by_column => 'deleted_by')},
      'enable_soft_delete() on a reference table (before tenant isolation)' ],
    [ 'owner_role', q{SELECT rowkeeper.enable_tenant_isolation('plans')},
      'enable_tenant_isolation() on a reference soft-delete table' ],
    [ 'owner_role', q{SELECT rowkeeper.enable_tenant_isolation('crm.contacts')},
      'enable_tenant_isolation() on a schema-sharded table' ],
    [ 'owner_role', q{SELECT rowkeeper.enable_soft_delete('crm.contacts', deleted_by_column => 'deleted_by')},
      'enable_soft_delete() on a schema-sharded tenant-isolated table' ],
    [ 'migrator', q{SELECT rowkeeper.enable_tenant_isolation('tasks')},
      'enable_tenant_isolation() on tasks by its BYPASSRLS owner' ],
    [ 'migrator', q{SELECT rowkeeper.enable_soft_delete('tasks', deleted_by_column => 'deleted_by')},
      'enable_soft_delete() on tasks by its BYPASSRLS owner' ])
{
    ($out, $err) = psql_as($coord, $step->[0], $step->[1]);
    is($err, '', "$step->[2]: no error");
}
is(su(q{SELECT string_agg(table_name::text || ':' || coalesce(deleted_by_column, '-') || ':' || guarded || ':' || hidden,
                          ',' ORDER BY table_name::text) FROM rowkeeper.soft_delete_tables}),
    'accounts:deleted_by:true:true,crm.contacts:deleted_by:true:true,orders:deleted_by:true:true,'
      . 'plans:deleted_by:true:true,tasks:deleted_by:true:true',
    'soft_delete_tables lists the Citus tables, guarded and hidden');

# every placement: the guard trigger, a policy with the hiding condition,
# RLS enabled and forced
my $placement_shape = q{SELECT (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = %1$L::regclass
                                   AND t.tgfoid = 'rowkeeper.soft_delete_guard()'::regprocedure AND t.tgenabled <> 'D')
                        || ':' || (SELECT count(*) > 0 FROM pg_policy p WHERE p.polrelid = %1$L::regclass
                                     AND pg_get_expr(p.polqual, p.polrelid) LIKE '%%deleted_at IS NULL%%')
                        || ':' || (SELECT c.relrowsecurity AND c.relforcerowsecurity FROM pg_class c WHERE c.oid = %1$L::regclass)};
for my $tbl (qw(accounts orders plans crm.contacts tasks))
{
    is(distinct_on_shards($placement_shape, $tbl), '1:true:true',
        "$tbl: every placement has the guard trigger, the hiding policy and forced RLS");
}
# every policy on every placement carries the tenant predicate (on the
# shards they are all permissive and ORed): none is USING (true), none
# lets another tenant's rows through
my $foreign_policies = q{SELECT coalesce(string_agg(p.polname || ' ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '-')
                                                  || ' / ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '-'), '; '), '')
                           FROM pg_policy p WHERE p.polrelid = %1$L::regclass
                            AND ((p.polqual IS NULL AND p.polwithcheck IS NULL)
                                 OR coalesce(pg_get_expr(p.polqual, p.polrelid), 'current_tenant') NOT LIKE '%%current_tenant%%'
                                 OR coalesce(pg_get_expr(p.polwithcheck, p.polrelid), 'current_tenant') NOT LIKE '%%current_tenant%%'
                                 OR pg_get_expr(p.polqual, p.polrelid) = 'true')};
for my $tbl (qw(accounts orders plans crm.contacts tasks))
{
    is(distinct_on_shards($foreign_policies, $tbl), '',
        "$tbl: no placement has a policy without the tenant predicate (none USING (true))");
}
my $citus_checks = q{
    SELECT coalesce(string_agg(check_name || ' ' || status || coalesce(' ' || object, ''), E'\n' ORDER BY 1, 3), '')
      FROM rowkeeper.preflight() WHERE check_name LIKE 'tenant.citus%' AND status <> 'ok'};
is(su($citus_checks), '', 'preflight: the tenant.citus checks are ok with soft delete on the Citus tables');
is(su(q{SELECT string_agg(check_name, ',' ORDER BY check_name) FROM rowkeeper.preflight()
         WHERE check_name IN ('tenant.citus_shard_policies', 'tenant.citus_foreign_policy') AND status = 'ok'}),
    'tenant.citus_foreign_policy,tenant.citus_shard_policies', 'preflight ran the shard and foreign-policy checks');

# isolation still holds on every shape with soft delete on
is(ok_in_tenant('app', 1, q{
        SELECT string_agg(DISTINCT tenant_id::text, ',') FROM accounts;
        SELECT string_agg(DISTINCT tenant_id::text, ',') FROM orders;
        SELECT string_agg(DISTINCT tenant_id::text, ',') FROM plans;
        SELECT string_agg(DISTINCT tenant_id::text, ',') FROM crm.contacts;
        SELECT count(*) FROM accounts WHERE tenant_id = 2;}, 'reads after enabling'),
    "1\n1\n1\n1\n0", 'with soft delete on, every Citus table still shows only the current tenant');

################################################################ 2. DELETE
my $before = su($per_tenant);
($out, $err) = in_tenant('app', 1, q{
    DELETE FROM accounts WHERE tenant_id = 1 AND id = 1;
    DELETE FROM accounts WHERE tenant_id = 1 AND id = 2 RETURNING id, name, deleted_at IS NULL;
    DELETE FROM orders WHERE amount >= 50;
    DELETE FROM orders WHERE account_id = 4 RETURNING tenant_id, id;
    DELETE FROM plans;
    DELETE FROM crm.contacts WHERE id = 1;
    SELECT extract(epoch FROM now());}, tags => 1);
is($err, '', 'soft DELETEs of tenant 1 in one transaction: no error');
my @lines = split /\n/, $out;
is($lines[0], 'DELETE 1', 'DELETE by key (router): DELETE 1');
is($lines[1], '2|a1-2|t', 'DELETE ... RETURNING returns the row as it was (not yet marked)');
is($lines[2], 'DELETE 1', 'DELETE ... RETURNING: DELETE 1');
is($lines[3], 'DELETE 2', 'DELETE with a multi-shard WHERE: DELETE 2 (the tenant\'s matching rows only)');
is($lines[4], '1|4', 'multi-shard DELETE ... RETURNING returns the tenant\'s row');
is($lines[5], 'DELETE 1', 'multi-shard DELETE ... RETURNING: DELETE 1');
is($lines[6], 'DELETE 3', 'DELETE without WHERE on a reference table: DELETE 3 (the tenant\'s rows)');
is($lines[7], 'DELETE 1', 'DELETE on a schema-sharded table: DELETE 1');
my $t1_now = $lines[8] // '';

# gone from every read shape
is(ok_in_tenant('app', 1, q{
        SELECT count(*) FROM accounts WHERE tenant_id = 1 AND id = 1;
        SELECT count(*) FROM accounts WHERE tenant_id = 1 AND id IN (1, 2);
        SELECT string_agg(id::text, ',' ORDER BY id) FROM accounts;
        SELECT count(*) FROM orders;
        SELECT string_agg(a.id::text, ',' ORDER BY a.id)
          FROM accounts a JOIN orders o ON o.tenant_id = a.tenant_id AND o.account_id = a.id;
        SELECT count(*) FROM plans;
        SELECT string_agg(id::text, ',' ORDER BY id) FROM crm.contacts;
        SELECT count(*) FROM accounts WHERE deleted_at IS NOT NULL;
        SELECT count(*) FROM (SELECT id FROM orders WHERE id > 3 UNION ALL SELECT id FROM accounts WHERE id < 3) s;},
        'reads after the DELETEs'),
    "0\n0\n3,4,5,6\n3\n3\n0\n2,3,4\n0\n0",
    'the deleted rows are gone from router and multi-shard reads, count(*), a co-located join, the reference and schema-sharded tables');

# still on the workers, marked by alice
is(on_shards('accounts', 'tenant_id = 1'), '1/1:deleted:alice,1/2:deleted:alice,1/3:live,1/4:live,1/5:live,1/6:live',
    'accounts: the rows are still on the worker, marked deleted by the actor');
is(on_shards('orders', 'tenant_id = 1'), '1/1:live,1/2:live,1/3:live,1/4:deleted:alice,1/5:deleted:alice,1/6:deleted:alice',
    'orders: the multi-shard DELETE marked exactly the tenant\'s matching rows on the worker');
is(on_shards('plans', 'tenant_id = 1'), '1/p1:deleted:alice,1/p2:deleted:alice,1/p3:deleted:alice',
    'plans: every copy of the reference table has the tenant\'s rows marked');
is(on_shards('crm.contacts', 'tenant_id = 1'), '1/1:deleted:alice,1/2:live,1/3:live,1/4:live',
    'crm.contacts: the row is marked on the worker');
# one batch and one time for the whole transaction, on both workers
my @sd = qw(accounts orders plans crm.contacts);
like(distinct_on_shards(q{SELECT deleted_batch FROM %1$s WHERE deleted_at IS NOT NULL}, @sd), qr/^\d+$/,
    'one deletion batch for every row of the transaction, on every shard of both workers')
  or diag(distinct_on_shards(q{SELECT current_setting('port') || ':' || deleted_batch FROM %1$s WHERE deleted_at IS NOT NULL}, @sd));
is(distinct_on_shards(q{SELECT extract(epoch FROM deleted_at) FROM %1$s WHERE deleted_at IS NOT NULL}, @sd), $t1_now,
    'deleted_at is the coordinator\'s transaction start on every shard of both workers');
is(su($per_tenant), $before, 'the rows of tenants 2, 3 and 4 are untouched (counts and marks per tenant)');

# deleting a deleted row again marks nothing (keeps its batch)
my $batch = distinct_on_shards(q{SELECT deleted_batch FROM %1$s WHERE tenant_id = 1 AND id = 1}, 'accounts');
($out, $err) = in_tenant('app', 1, q{DELETE FROM accounts WHERE id = 1;}, tags => 1);
is("$out$err", 'DELETE 0', 'DELETE of an already deleted row: DELETE 0');
is(distinct_on_shards(q{SELECT deleted_batch FROM %1$s WHERE tenant_id = 1 AND id = 1}, 'accounts'), $batch,
    'the deleted row keeps its batch');

################################################################ 3. no cross-tenant path
($out, $err) = in_tenant('app', 1, q{
    DELETE FROM accounts WHERE tenant_id = 2;
    DELETE FROM orders WHERE tenant_id IN (2, 3);
    DELETE FROM plans WHERE tenant_id = 2;
    DELETE FROM crm.contacts WHERE tenant_id = 2;}, tags => 1);
is("$out$err", "DELETE 0\nDELETE 0\nDELETE 0\nDELETE 0", 'tenant 1 deleting tenant 2\'s rows: DELETE 0 on every table');
is(su($per_tenant), $before, 'nothing of another tenant was marked');

# a DELETE inside a WITH query: Citus would run it apart or send the whole
# statement to a shard, neither as the marking: refused with what to do,
# nothing marked; a WITH query around a plain DELETE is the marking as usual
($out, $err) = in_tenant('app', 1, q{WITH d AS (DELETE FROM orders WHERE id = 1 RETURNING id) SELECT count(*) FROM d;});
like($err, qr/DELETE inside a WITH query is not supported on soft-delete Citus table public\.orders.*HINT:  Run the DELETE \.\.\. RETURNING as a statement of its own/s,
    'DELETE inside WITH on a soft-delete Citus table: refused, with the hint');
($out, $err) = in_tenant('app', 1, q{WITH d AS (DELETE FROM plans WHERE tenant_id = 1 RETURNING code) INSERT INTO accounts SELECT 1, 100, code FROM d;});
like($err, qr/DELETE inside a WITH query is not supported on soft-delete Citus table public\.plans/,
    'DELETE inside WITH feeding an INSERT (reference table): refused');
($out, $err) = in_tenant('app', 1, q{WITH x AS (SELECT 99 AS id) DELETE FROM orders o USING x WHERE o.id = x.id;}, tags => 1);
is("$out$err", 'DELETE 0', 'a plain DELETE with a WITH query of its own still runs');
is(su($per_tenant), $before, 'nothing was marked by the refused statements');

# tenant 2 deletes some of its rows (bob)
ok_in_tenant('app', 2, q{
    DELETE FROM accounts WHERE id = 3;
    DELETE FROM orders WHERE id = 1;
    DELETE FROM plans WHERE code = 'p1';
    DELETE FROM crm.contacts WHERE id = 2;}, 'tenant 2 deletes', actor => 'bob');
is(on_shards('accounts', 'tenant_id = 2 AND deleted_at IS NOT NULL') . ' ' . on_shards('plans', 'tenant_id = 2 AND deleted_at IS NOT NULL'),
    '2/3:deleted:bob 2/p1:deleted:bob', 'tenant 2\'s rows are marked by bob');
$before = su($per_tenant);

# the application role never sees deleted rows, even with show_deleted
is(ok_in_tenant('app', 1, q{
        SET LOCAL rowkeeper.show_deleted = on;
        SELECT count(*) FROM accounts WHERE tenant_id = 2;
        SELECT string_agg(DISTINCT tenant_id::text, ',') FROM accounts;
        SELECT count(*) FROM accounts WHERE deleted_at IS NOT NULL;
        SELECT count(*) FROM orders WHERE deleted_at IS NOT NULL;
        SELECT count(*) FROM plans;
        SELECT count(*) FROM crm.contacts WHERE deleted_at IS NOT NULL;},
        'app with show_deleted'),
    "0\n1\n0\n0\n0\n0",
    'app with show_deleted on: neither tenant 2\'s rows nor any deleted row (not a member of rowkeeper_see_deleted)');
is(ok_in_tenant('app', 2, q{
        SET LOCAL rowkeeper.show_deleted = on;
        SELECT count(*) FROM accounts WHERE deleted_at IS NOT NULL;
        SELECT string_agg(code, ',' ORDER BY code) FROM plans;},
        'app of tenant 2 with show_deleted', actor => 'bob'),
    "0\np2,p3", 'tenant 2 with show_deleted on: its deleted rows stay hidden from the application role');

# no tenant: an error, never rows
($out, $err) = psql_as($coord, 'app', q{DELETE FROM accounts WHERE id = 6;});
like($err, qr/no tenant is set/, 'no tenant: a DELETE fails');
($out, $err) = psql_as($coord, 'app', q{DELETE FROM plans;});
like($err, qr/no tenant is set/, 'no tenant: a DELETE on the reference table fails');
($out, $err) = psql_as($coord, 'app', q{BEGIN; SET LOCAL rowkeeper.show_deleted = on;
    SELECT count(*) FROM accounts WHERE deleted_at IS NOT NULL; COMMIT;});
like($err, qr/no tenant is set/, 'no tenant, show_deleted on: a read fails');
is($out, '', 'no tenant, show_deleted on: no rows');
is(su($per_tenant), $before, 'no tenant: nothing of tenants 2-4 was marked');
is(on_shards('accounts', 'tenant_id = 1 AND id = 6'), '1/6:live', 'no tenant: nothing of tenant 1 was marked');

# UPDATE cannot mark rows by hand, nor reach deleted rows (no revival by hand)
($out, $err) = in_tenant('app', 1, q{UPDATE accounts SET deleted_at = now() WHERE id = 6;});
like($err, qr/row-level security/, 'a hand-written marking UPDATE (SET deleted_at) is refused, as on one node');
($out, $err) = in_tenant('app', 1, q{UPDATE crm.contacts SET deleted_at = now(), deleted_batch = 1 WHERE id = 3;});
like($err, qr/row-level security/, 'a hand-written marking UPDATE on the schema-sharded table is refused');
is(on_shards('accounts', 'tenant_id = 1 AND id = 6') . ' ' . on_shards('crm.contacts', 'tenant_id = 1 AND id = 3'),
    '1/6:live 1/3:live', 'the hand-written markings hid nothing');
# A marking UPDATE crafted with the settings the worker checks it against
# forged on the worker (a set_config() that Citus pushes down to a shard,
# run in the worker connection the UPDATE uses next; a role default, which
# Citus propagates): refused, the settings come from the coordinator only
# (else: any deleted_at, purged at once, any batch, backdated audit entries)
($out, $err) = in_tenant('app', 1, q{
    SELECT set_config('rowkeeper.coordinator_xact_start', '1', true),
           set_config('rowkeeper.coordinator_soft_delete_batch', '779', true)
      FROM accounts WHERE tenant_id = 1 AND id = 6;
    UPDATE accounts SET deleted_at = '2000-01-01 00:00:00.000001+00', deleted_batch = 779, deleted_by = 'alice'
     WHERE deleted_at IS NULL AND tenant_id = 1 AND id = 6;});
like($err, qr/internal Citus settings can only be set by a SET statement/,
    'a set_config() of the coordinator settings pushed down to a shard is refused');
($out, $err) = psql_as($coord, 'app', q{ALTER ROLE app SET rowkeeper.coordinator_soft_delete_batch = '4242';});
like($err, qr/internal Citus settings cannot have a default/,
    'a role default for the coordinator batch setting is refused');
psql_as($coord, 'postgres', q{ALTER ROLE app RESET rowkeeper.coordinator_soft_delete_batch;});
# The same settings SET by a session that poses as a backend Citus opened
# (application_name citus_internal...), with Citus passing its SETs on:
# on the coordinator rowkeeper sends its own values all the same
($out, $err) = in_tenant('app', 1, q{
    SET LOCAL application_name = 'citus_internal_evil';
    SET LOCAL citus.propagate_set_commands = 'local';
    SET LOCAL rowkeeper.coordinator_xact_start = '1';
    SET LOCAL rowkeeper.coordinator_soft_delete_batch = '779';
    UPDATE accounts SET deleted_at = '2000-01-01 00:00:00.000001+00', deleted_batch = 779, deleted_by = 'alice'
     WHERE deleted_at IS NULL AND tenant_id = 1 AND id = 6;});
like($err, qr/row-level security/,
    'posing as a Citus backend on the coordinator: the marking forged with SET LOCAL is refused');
is(on_shards('accounts', 'tenant_id = 1 AND id = 6'), '1/6:live', 'the forged markings hid nothing');
($out, $err) = in_tenant('app', 1, q{
    UPDATE accounts SET name = 'touched' WHERE id = 1;
    UPDATE accounts SET deleted_at = NULL, deleted_batch = NULL WHERE id = 2;
    UPDATE plans SET deleted_at = NULL, deleted_batch = NULL WHERE code = 'p1';
    UPDATE orders SET amount = 0 WHERE deleted_at IS NOT NULL;}, tags => 1);
is("$out$err", "UPDATE 0\nUPDATE 0\nUPDATE 0\nUPDATE 0",
    'UPDATEs with a WHERE by the application role do not reach deleted rows (no revival by hand): UPDATE 0');
is(on_shards('accounts', 'tenant_id = 1 AND id IN (1, 2)') . ' ' . on_shards('plans', q{tenant_id = 1 AND code = 'p1'}),
    '1/1:deleted:alice,1/2:deleted:alice 1/p1:deleted:alice', 'the deleted rows stay deleted');
# An UPDATE without WHERE needs no SELECT privilege: on one node the
# SELECT policy that hides deleted rows does not apply to it (it reaches
# and can revive them: a one-node limit); on the shards it must not.
($out, $err) = in_tenant('app', 1, q{UPDATE crm.contacts SET deleted_at = NULL, deleted_batch = NULL;}, tags => 1);
is("$out$err", 'UPDATE 3', 'an UPDATE without WHERE by the application role reaches only the live rows (UPDATE 3)');
is(on_shards('crm.contacts', 'tenant_id = 1 AND id = 1'), '1/1:deleted:alice', 'an UPDATE without WHERE revives nothing');
# (put the mark back if it was revived: the sections below count on it)
my ($mark_at, $mark_batch) = split /\|/, su(q{SELECT deleted_at, deleted_batch FROM accounts WHERE tenant_id = 1 AND id = 1});
su(qq{UPDATE crm.contacts SET deleted_at = '$mark_at', deleted_batch = $mark_batch
       WHERE tenant_id = 1 AND id = 1 AND deleted_at IS NULL}) if defined $mark_batch && $mark_batch ne '';

# straight to the worker: a DELETE on the shard of tenant 1 removes nothing
my ($shard, $port) = split /\|/, su(q{
    SELECT shard_name, nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('accounts', 1)});
my ($holder) = grep { $_->port == $port } ($w1, $w2);
($out, $err) = psql_as($holder, 'app', qq{BEGIN; SET LOCAL rowkeeper.tenant = '1';
    SET LOCAL rowkeeper.soft_delete_rewrite = off;
    DELETE FROM $shard WHERE id = 6; COMMIT;});
like($err, qr/cannot delete rows of soft-delete table .* physically|permission denied/,
    'app on a worker: a DELETE on the shard with the rewrite off is refused (guard or privileges)');
($out, $err) = psql_as($holder, 'app', qq{BEGIN; SET LOCAL rowkeeper.tenant = '1';
    DELETE FROM $shard WHERE id = 6; COMMIT;}, tags => 1);
note("app on a worker, DELETE on shard $shard: out: $out, err: $err");
like(on_shards('accounts', 'tenant_id = 1 AND id = 6'), qr{^1/6:(live|deleted:.*)$},
    'app on a worker: a DELETE on the shard removes nothing physically');
su(q{UPDATE accounts SET deleted_at = NULL, deleted_batch = NULL, deleted_by = NULL WHERE tenant_id = 1 AND id = 6});
# ... and through the coordinator with the rewrite off: the guard on the shard
($out, $err) = in_tenant('app', 1, q{SET LOCAL rowkeeper.soft_delete_rewrite = off;
    DELETE FROM accounts WHERE id = 6;});
note("app, rewrite off, DELETE through the coordinator: out: $out, err: $err");
like(on_shards('accounts', 'tenant_id = 1 AND id = 6'), qr{^1/6:(live|deleted:alice)$},
    'with rowkeeper.soft_delete_rewrite off a DELETE through the coordinator removes nothing physically');
su(q{UPDATE accounts SET deleted_at = NULL, deleted_batch = NULL, deleted_by = NULL WHERE tenant_id = 1 AND id = 6});

################################################################ 4. who sees deleted rows
my $deleted_view = q{
    SELECT string_agg(id::text, ',' ORDER BY id) FROM accounts WHERE deleted_at IS NOT NULL;
    SELECT count(*) FROM accounts WHERE tenant_id = 1 AND id = 1;
    SELECT string_agg(id::text, ',' ORDER BY id) FROM orders WHERE deleted_at IS NOT NULL;
    SELECT string_agg(code, ',' ORDER BY code) FROM plans WHERE deleted_at IS NOT NULL;
    SELECT string_agg(id::text, ',' ORDER BY id) FROM crm.contacts WHERE deleted_at IS NOT NULL;
    SELECT string_agg(DISTINCT tenant_id::text, ',') FROM plans;
    SELECT count(*) FROM accounts WHERE tenant_id = 2;};
my $seen_deleted = "1,2\n1\n4,5,6\np1,p2,p3\n1\n1\n0";
is(ok_in_tenant('owner_role', 1, "SET LOCAL rowkeeper.show_deleted = on;\n$deleted_view", 'owner with show_deleted'),
    $seen_deleted, 'the owner with show_deleted on sees its tenant\'s deleted rows on the workers, not tenant 2\'s');
is(ok_in_tenant('support', 1, "SET LOCAL rowkeeper.show_deleted = on;\n$deleted_view", 'see_deleted member with show_deleted'),
    $seen_deleted, 'a member of rowkeeper_see_deleted with show_deleted on sees its tenant\'s deleted rows, not tenant 2\'s');
is(ok_in_tenant('support', 1, "SELECT set_config('rowkeeper.show_deleted', 'on', true) \\gset\n$deleted_view",
        'see_deleted member with set_config()'),
    $seen_deleted, 'show_deleted set by set_config() reaches the workers too');
is(ok_in_tenant('owner_role', 1, q{SELECT count(*) FROM accounts WHERE deleted_at IS NOT NULL;
                                   SELECT count(*) FROM plans;}, 'owner without show_deleted'),
    "0\n0", 'without show_deleted the owner does not see deleted rows either');
is(ok_in_tenant('support', 2, "SET LOCAL rowkeeper.show_deleted = on;
        SELECT string_agg(tenant_id || '/' || id, ',' ORDER BY id) FROM accounts WHERE deleted_at IS NOT NULL;",
        'see_deleted member of tenant 2', actor => 'sam'),
    '2/3', 'with tenant 2 the same member sees only tenant 2\'s deleted rows');

################################################################ 5. restore
($out, $err) = in_tenant('app', 1, q{SELECT rowkeeper.restore('accounts', '{"tenant_id": 1, "id": 2}');});
like($err, qr/no soft-deleted row of (public\.)?accounts with key/, 'restore() by the application role (no see_deleted): refused, the row is not visible to it');
is(ok_in_tenant('support', 1, q{
        SELECT rowkeeper.restore('accounts', '{"tenant_id": 1, "id": 1}');
        SELECT rowkeeper.restore('orders', '{"tenant_id": 1, "id": 4}');
        SELECT rowkeeper.restore('plans', '{"tenant_id": 1, "code": "p1"}');
        SELECT rowkeeper.restore('crm.contacts', '{"tenant_id": 1, "id": 1}');}, 'restore', actor => 'sam'),
    "1\n1\n1\n1", 'restore() on distributed, reference and schema-sharded tables: one row each');
is(ok_in_tenant('app', 1, q{
        SELECT string_agg(id::text, ',' ORDER BY id) FROM accounts;
        SELECT string_agg(id::text, ',' ORDER BY id) FROM orders;
        SELECT string_agg(code, ',' ORDER BY code) FROM plans;
        SELECT string_agg(id::text, ',' ORDER BY id) FROM crm.contacts;}, 'reads after restore'),
    "1,3,4,5,6\n1,2,3,4\np1\n1,2,3,4", 'the restored rows are visible again');
is(on_shards('accounts', 'tenant_id = 1 AND id IN (1, 2)') . ' ' . on_shards('orders', 'tenant_id = 1 AND id = 4')
   . ' ' . on_shards('plans', q{tenant_id = 1 AND code = 'p1'}) . ' ' . on_shards('crm.contacts', 'tenant_id = 1 AND id = 1'),
    '1/1:live,1/2:deleted:alice 1/4:live 1/p1:live 1/1:live',
    'restore() cleared deleted_at, the batch and deleted_by on the shards (every copy of the reference table), only of that row');
($out, $err) = in_tenant('support', 1, q{SELECT rowkeeper.restore('accounts', '{"tenant_id": 2, "id": 3}');}, actor => 'sam');
like($err, qr/no soft-deleted row of (public\.)?accounts with key/, 'restore() of another tenant\'s deleted row: refused, clear error');
($out, $err) = in_tenant('support', 1, q{SELECT rowkeeper.restore('plans', '{"tenant_id": 2, "code": "p1"}');}, actor => 'sam');
like($err, qr/no soft-deleted row of (public\.)?plans with key/, 'restore() of another tenant\'s deleted row of the reference table: refused');
is(on_shards('accounts', 'tenant_id = 2 AND id = 3') . ' ' . on_shards('plans', q{tenant_id = 2 AND code = 'p1'}),
    '2/3:deleted:bob 2/p1:deleted:bob', 'another tenant\'s deleted rows stay deleted');
($out, $err) = in_tenant('support', 1, q{SELECT rowkeeper.restore('accounts', '{"tenant_id": 1, "id": 3}');}, actor => 'sam');
like($err, qr/no soft-deleted row of (public\.)?accounts with key/, 'restore() of a live row: refused, clear error');

################################################################ 6. hard_delete
($out, $err) = in_tenant('app', 1, q{SELECT rowkeeper.hard_delete('accounts', '{"tenant_id": 1, "id": 2}');});
like($err, qr/must be owner of table (public\.)?accounts/, 'hard_delete() by the application role: refused');
is(ok_in_tenant('owner_role', 1, q{
        SELECT rowkeeper.hard_delete('accounts', '{"tenant_id": 1, "id": 2}');
        SELECT rowkeeper.hard_delete('orders', '{"tenant_id": 1, "id": 5}');
        SELECT rowkeeper.hard_delete('plans', '{"tenant_id": 1, "code": "p2"}');},
        'hard_delete by the owner', actor => 'olga'),
    "1\n1\n1", 'hard_delete() by the owner on distributed and reference tables: one row each');
is(on_shards('accounts', 'tenant_id = 1 AND id = 2') . '|' . on_shards('orders', 'tenant_id = 1 AND id IN (5, 6)')
   . '|' . on_shards('plans', q{tenant_id = 1 AND code = 'p2'}),
    '|1/6:deleted:alice|', 'hard_delete() removed the rows physically on the shards (every copy of the reference table)');
is(ok_in_tenant('owner_role', 1, q{
        SELECT rowkeeper.hard_delete('accounts', '{"tenant_id": 1, "id": 3}');
        SELECT rowkeeper.hard_delete('accounts', '{"tenant_id": 2, "id": 3}');
        SELECT rowkeeper.hard_delete('plans', '{"tenant_id": 2, "code": "p1"}');},
        'hard_delete of live and foreign rows', actor => 'olga'),
    "0\n0\n0", 'hard_delete() of a live row and of another tenant\'s deleted rows removes nothing');
is(on_shards('accounts', '(tenant_id, id) IN ((1, 3), (2, 3))') . ' ' . on_shards('plans', q{tenant_id = 2 AND code = 'p1'}),
    '1/3:live,2/3:deleted:bob 2/p1:deleted:bob', 'the live row and the other tenant\'s deleted rows are still there');

################################################################ 7. purge_soft_deleted
# every tenant deletes tasks 1-4; tasks 1 and 2 are then made 60 days old
for my $t (1 .. 4)
{
    ok_in_tenant('app', $t, q{DELETE FROM tasks WHERE id <= 4;}, "tenant $t deletes tasks");
}
# (a constant: Citus refuses deleted_at - interval '60 days', a STABLE
# operator over a column, in an UPDATE)
is(su(q{UPDATE tasks SET deleted_at = timestamptz '2020-01-01 00:00:00+00' WHERE id <= 2 AND deleted_at IS NOT NULL}), '',
    'set-up: the superuser ages deleted tasks with an UPDATE of deleted_at');
is(su(q{SELECT count(*) FROM tasks WHERE deleted_at < now() - interval '30 days'}), '8',
    'set-up: 8 deleted tasks made 60 days old (by the superuser, whom RLS does not confine)');
my $purged_before = on_shards('tasks', 'true');
# an owner that tenant isolation confines (FORCE), with no tenant: fails closed
($out, $err) = psql_as($coord, 'owner_role', q{CALL rowkeeper.purge_soft_deleted('accounts', older_than => '0');});
isnt($err, '', 'purge_soft_deleted() by an owner confined by tenant isolation, without a tenant: an error');
is(on_shards('accounts', 'tenant_id = 2 AND id = 3'), '2/3:deleted:bob', '... and it removed nothing');
# the BYPASSRLS owner: dry run, then the purge over every shard and tenant
($out, $err) = psql_as($coord, 'migrator', q{CALL rowkeeper.purge_soft_deleted('tasks', older_than => '30 days', dry_run => true) \gset
    SELECT kind || ':' || outcome || ':' || (detail ->> 'public.tasks') || ':' || rows_deleted FROM rowkeeper.purge_runs
     WHERE target = 'public.tasks' ORDER BY id DESC LIMIT 1;});
is($err, '', 'purge_soft_deleted() dry run on a distributed table: no error');
is($out, 'soft_deleted:dry run:8:0', 'the dry run counts the rows deleted before the cutoff on every shard');
is(on_shards('tasks', 'true'), $purged_before, 'the dry run removed nothing');
($out, $err) = psql_as($coord, 'migrator', q{CALL rowkeeper.purge_soft_deleted('tasks', older_than => '30 days', batch_size => 3) \gset
    SELECT kind || ':' || outcome || ':' || rows_deleted || ':' || (batches >= 3) FROM rowkeeper.purge_runs
     WHERE target = 'public.tasks' ORDER BY id DESC LIMIT 1;});
is($err, '', 'purge_soft_deleted() on a distributed table: no error');
is($out, 'soft_deleted:done:8:true', 'the run is recorded in purge_runs: done, 8 rows, in batches');
is(on_shards('tasks', 'true'),
    join(',', map { my $t = $_; ("$t/3:deleted:alice", "$t/4:deleted:alice", "$t/5:live", "$t/6:live") } 1 .. 4),
    'the purge removed exactly the rows deleted before the cutoff, of every tenant on both workers; newer deleted and live rows stay');

################################################################ 8. audit
su(q{SELECT rowkeeper.enable_audit('accounts')});
ok_in_tenant('app', 1, q{DELETE FROM accounts WHERE tenant_id = 1 AND id = 4;}, 'audited soft DELETE');
ok_in_tenant('support', 1, q{SELECT rowkeeper.restore('accounts', '{"tenant_id": 1, "id": 4}') \gset}, 'audited restore', actor => 'sam');
($out, $err) = psql_as($coord, 'auditor', q{
    SELECT string_agg(op || ':' || coalesce(actor, '-'), ',' ORDER BY audit_id)
      FROM rowkeeper.row_history('accounts', '{"tenant_id": 1, "id": 4}');});
is("$out$err", 'SOFT_DELETE:alice,RESTORE:sam',
    'audit: the soft DELETE is logged as SOFT_DELETE, restore() as RESTORE, found from the coordinator');

################################################################ 9. foreign keys; refused: policies of its own
# A soft delete follows the foreign keys that reference a Citus table, on
# the shards, as on one node: ON DELETE CASCADE marks the live children
# (the same batch, time and deleter, recursively), RESTRICT / NO ACTION
# refuses while live rows reference the row; restore() brings back what
# the deletion took, hard_delete() removes it with its children.  Keys
# added before and after enabling, between co-located distributed tables
# and from a distributed table to a reference table (whose cascade trigger
# fires on every copy, each following the shards on its own node).
#   projects <- milestones (CASCADE, before) <- steps (CASCADE, after)
#   projects <- invoices (NO ACTION, after; no soft delete)
#   plans (reference) <- subscriptions (CASCADE, after)
# A policy of the table's own would be ORed with the hiding condition on
# the shards: refused by enable_soft_delete(), found by preflight() when
# created afterwards.
$coord->safe_psql('postgres', q{
    CREATE TABLE projects (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
    CREATE TABLE milestones (tenant_id int NOT NULL, id int NOT NULL, project_id int NOT NULL,
                             PRIMARY KEY (tenant_id, id));
    CREATE TABLE steps (tenant_id int NOT NULL, id int NOT NULL, milestone_id int NOT NULL,
                        PRIMARY KEY (tenant_id, id));
    CREATE TABLE invoices (tenant_id int NOT NULL, id int NOT NULL, project_id int NOT NULL,
                           PRIMARY KEY (tenant_id, id));
    CREATE TABLE subscriptions (tenant_id int NOT NULL, id int NOT NULL, plan_code text NOT NULL,
                                PRIMARY KEY (tenant_id, id));
    CREATE TABLE memos (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
    SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'accounts')
      FROM unnest(ARRAY['projects', 'milestones', 'steps', 'invoices', 'subscriptions', 'memos']) t;
    ALTER TABLE milestones ADD FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id) ON DELETE CASCADE;
    INSERT INTO projects SELECT t, i FROM generate_series(1, 4) t, generate_series(1, 2) i;
    INSERT INTO milestones SELECT t, i, (i + 1) / 2 FROM generate_series(1, 4) t, generate_series(1, 4) i;
    INSERT INTO steps SELECT t, i, i FROM generate_series(1, 4) t, generate_series(1, 4) i;
    INSERT INTO invoices SELECT t, 1, 2 FROM generate_series(1, 4) t;
    INSERT INTO subscriptions SELECT t, i, 'p' || i FROM generate_series(3, 4) t, generate_series(1, 3) i;  -- tenants whose plans are all there
    CREATE POLICY own ON memos USING (true);
    ALTER TABLE projects OWNER TO owner_role;
    ALTER TABLE milestones OWNER TO owner_role;
    ALTER TABLE steps OWNER TO owner_role;
    ALTER TABLE invoices OWNER TO owner_role;
    ALTER TABLE subscriptions OWNER TO owner_role;
    ALTER TABLE memos OWNER TO owner_role;
    GRANT SELECT, INSERT, UPDATE, DELETE ON projects, milestones, steps, invoices, subscriptions, memos TO app, support;
});
$key{$_} = 'id' for qw(projects milestones steps invoices subscriptions memos);
for my $tbl (qw(projects milestones steps invoices subscriptions))
{
    ($out, $err) = psql_as($coord, 'owner_role', qq{SELECT rowkeeper.enable_tenant_isolation('$tbl');});
    is($err, '', "$tbl (foreign keys): enable_tenant_isolation(): no error");
}
($out, $err) = psql_as($coord, 'owner_role', q{SELECT rowkeeper.enable_soft_delete('projects', deleted_by_column => 'deleted_by');
    SELECT rowkeeper.enable_soft_delete('milestones', deleted_by_column => 'deleted_by');
    SELECT rowkeeper.enable_soft_delete('steps', deleted_by_column => 'deleted_by');
    SELECT rowkeeper.enable_soft_delete('subscriptions', deleted_by_column => 'deleted_by');});
is($err, '', 'enable_soft_delete() on Citus tables that foreign keys reference: no error');
$coord->safe_psql('postgres', q{
    ALTER TABLE steps ADD FOREIGN KEY (tenant_id, milestone_id) REFERENCES milestones (tenant_id, id) ON DELETE CASCADE;
    ALTER TABLE invoices ADD FOREIGN KEY (tenant_id, project_id) REFERENCES projects (tenant_id, id);
    ALTER TABLE subscriptions ADD FOREIGN KEY (tenant_id, plan_code) REFERENCES plans (tenant_id, code) ON DELETE CASCADE;});
pass('foreign keys to Citus soft-delete tables added after enabling (distributed and reference): no error, no deadlock');
is(distinct_on_shards(q{SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = %1$L::regclass
                          AND t.tgfoid = 'rowkeeper.soft_delete_trigger()'::regprocedure},
                      qw(projects milestones steps subscriptions plans)),
    '1', 'every placement of every Citus soft-delete table has the cascade trigger (Citus\'s copy)');

# CASCADE, two levels, on the shards
my $fk_counts = q{
    SELECT string_agg(x, ' ' ORDER BY x) FROM (
        SELECT 'projects:' || tenant_id || ':' || count(*) || '/' || count(deleted_at) AS x FROM projects GROUP BY tenant_id
        UNION ALL SELECT 'milestones:' || tenant_id || ':' || count(*) || '/' || count(deleted_at) FROM milestones GROUP BY tenant_id
        UNION ALL SELECT 'steps:' || tenant_id || ':' || count(*) || '/' || count(deleted_at) FROM steps GROUP BY tenant_id
        UNION ALL SELECT 'invoices:' || tenant_id || ':' || count(*) FROM invoices GROUP BY tenant_id
        UNION ALL SELECT 'subscriptions:' || tenant_id || ':' || count(*) || '/' || count(deleted_at) FROM subscriptions GROUP BY tenant_id) s
     WHERE x NOT LIKE '%:1:%'};
my $others_before = su($fk_counts);
($out, $err) = in_tenant('app', 1, q{DELETE FROM projects WHERE id = 1;
    SELECT string_agg(id::text, ',' ORDER BY id) FROM milestones;
    SELECT string_agg(id::text, ',' ORDER BY id) FROM steps;
    SELECT extract(epoch FROM now());}, tags => 1);
@lines = split /\n/, "$out$err";
is(join(' ', @lines[0 .. 2]), 'DELETE 1 3,4 3,4', 'a soft DELETE of a project (tenant 1): its milestones and their steps are gone too');
is(on_shards('milestones', 'tenant_id = 1') . ' ' . on_shards('steps', 'tenant_id = 1'),
    '1/1:deleted:alice,1/2:deleted:alice,1/3:live,1/4:live 1/1:deleted:alice,1/2:deleted:alice,1/3:live,1/4:live',
    'the cascade marked the children and grandchildren on the shards, by the deleter');
like(distinct_on_shards(q{SELECT deleted_batch FROM %1$s WHERE deleted_at IS NOT NULL AND tenant_id = 1}, qw(projects milestones steps)),
    qr/^\d+$/, 'one batch for the project and everything the cascade marked');
is(distinct_on_shards(q{SELECT extract(epoch FROM deleted_at) FROM %1$s WHERE deleted_at IS NOT NULL AND tenant_id = 1}, qw(projects milestones steps)),
    $lines[3] // '-', 'one time, the coordinator\'s transaction start, for the project and its children');
is(su($fk_counts), $others_before, 'no row of another tenant was marked');

# RESTRICT / NO ACTION: a live invoice references project 2
($out, $err) = in_tenant('app', 2, q{DELETE FROM projects WHERE id = 2;}, actor => 'bob');
like($err, qr/soft delete on table "projects" violates foreign key constraint "invoices_tenant_id_project_id_fkey" on table "invoices".*DETAIL:  Key \(tenant_id, id\)=\(2, 2\) is still referenced/s,
    'a soft DELETE of a project a live invoice references: refused (23503), naming the Citus tables');
is(su($fk_counts), $others_before, 'the refused DELETE marked nothing');

# restore() brings back the project with what its deletion took
($out, $err) = psql_as($coord, 'owner_role', q{BEGIN; SELECT rowkeeper.set_context(tenant => '1', actor => 'sam') \gset
    SELECT rowkeeper.restore('projects', '{"tenant_id": 1, "id": 1}'); COMMIT;});
is("$out$err", '5', 'restore() of the project: 5 rows (the project, 2 milestones, 2 steps)');
is(on_shards('milestones', 'tenant_id = 1') . ' ' . on_shards('steps', 'tenant_id = 1'),
    '1/1:live,1/2:live,1/3:live,1/4:live 1/1:live,1/2:live,1/3:live,1/4:live', 'the children are live again on the shards');

# a reference table: each copy follows the keys on its own node
my $subs_before = on_shards('subscriptions', 'tenant_id <> 4');
($out, $err) = in_tenant('app', 4, q{DELETE FROM plans WHERE code = 'p2';
    SELECT string_agg(id::text, ',' ORDER BY id) FROM subscriptions;}, tags => 1, actor => 'dora');
is("$out$err", "DELETE 1\n1,3", 'a soft DELETE of a reference-table row (tenant 4): the subscriptions on it are gone');
is(on_shards('subscriptions', 'tenant_id = 4'), '4/1:live,4/2:deleted:dora,4/3:live',
    'the subscription was marked once, on its shard, by the deleter');
is(on_shards('subscriptions', 'tenant_id <> 4'), $subs_before, 'no other tenant\'s subscription was marked');

# hard_delete(): the owner removes a deleted project, the cascade with it
ok_in_tenant('app', 3, q{DELETE FROM projects WHERE id = 1;}, 'tenant 3 deletes project 1', actor => 'carol');
($out, $err) = psql_as($coord, 'owner_role', q{BEGIN; SELECT rowkeeper.set_context(tenant => '3') \gset
    SELECT rowkeeper.hard_delete('projects', '{"tenant_id": 3, "id": 1}'); COMMIT;});
is("$out$err", '1', 'hard_delete() of the deleted project: 1');
is(on_shards('projects', 'tenant_id = 3') . ' ' . on_shards('milestones', 'tenant_id = 3') . ' ' . on_shards('steps', 'tenant_id = 3'),
    '3/2:live 3/3:live,3/4:live 3/3:live,3/4:live', 'the project, its milestones and their steps are gone from the shards; the rest is live');

# purge_soft_deleted(): the purge's DELETE on the shards takes the deleted
# children with it (the owner needs BYPASSRLS or a tenant to purge an
# isolated table, see 7.)
su(q{CREATE INDEX ON projects (deleted_at)});
ok_in_tenant('app', 4, q{DELETE FROM projects WHERE id = 1;}, 'tenant 4 deletes project 1', actor => 'dora');
my $t2_rows = on_shards('projects', 'tenant_id = 2') . ' ' . on_shards('milestones', 'tenant_id = 2') . ' ' . on_shards('steps', 'tenant_id = 2');
su(q{ALTER ROLE owner_role BYPASSRLS});
($out, $err) = psql_as($coord, 'owner_role', q{CALL rowkeeper.purge_soft_deleted('projects', older_than => '0');});
su(q{ALTER ROLE owner_role NOBYPASSRLS});
is($err, '', 'purge_soft_deleted() of projects with soft-deleted children: no error');
is(on_shards('projects', 'tenant_id = 4') . ' ' . on_shards('milestones', 'tenant_id = 4') . ' ' . on_shards('steps', 'tenant_id = 4'),
    '4/2:live 4/3:live,4/4:live 4/3:live,4/4:live', 'the purge removed the deleted project with its deleted milestones and steps, on the shards');
is(on_shards('projects', 'tenant_id = 2') . ' ' . on_shards('milestones', 'tenant_id = 2') . ' ' . on_shards('steps', 'tenant_id = 2'),
    $t2_rows, 'the live rows of another tenant are untouched');

# the hard-delete flag set for the session by the application: a foreign
# key's ON DELETE CASCADE (run as the child's owner) from a parent without
# soft delete into a soft-delete child is refused by the child's guard, on
# the shards and for local tables on the coordinator (the flag counts only
# in backends Citus opened, and the coordinator overrides a forged one)
$coord->safe_psql('postgres', q{
    CREATE TABLE folders (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
    CREATE TABLE files (tenant_id int NOT NULL, id int NOT NULL, folder_id int NOT NULL, PRIMARY KEY (tenant_id, id));
    SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'accounts') FROM unnest(ARRAY['folders', 'files']) t;
    ALTER TABLE files ADD FOREIGN KEY (tenant_id, folder_id) REFERENCES folders (tenant_id, id) ON DELETE CASCADE;
    CREATE TABLE local_folders (id int PRIMARY KEY);
    CREATE TABLE local_files (id int PRIMARY KEY, folder_id int NOT NULL REFERENCES local_folders ON DELETE CASCADE);
    INSERT INTO folders SELECT t, 1 FROM generate_series(1, 4) t;
    INSERT INTO files SELECT t, 1, 1 FROM generate_series(1, 4) t;
    INSERT INTO local_folders VALUES (1); INSERT INTO local_files VALUES (10, 1);
    ALTER TABLE folders OWNER TO owner_role; ALTER TABLE files OWNER TO owner_role;
    ALTER TABLE local_folders OWNER TO owner_role; ALTER TABLE local_files OWNER TO owner_role;
    GRANT SELECT, DELETE ON folders, files, local_folders, local_files TO app;});
$key{$_} = 'id' for qw(folders files);
($out, $err) = psql_as($coord, 'owner_role', q{SELECT rowkeeper.enable_tenant_isolation('folders');
    SELECT rowkeeper.enable_tenant_isolation('files');
    SELECT rowkeeper.enable_soft_delete('files', deleted_by_column => 'deleted_by');
    SELECT rowkeeper.enable_soft_delete('local_files');});
is($err, '', 'set-up of the cascade from tables without soft delete: no error');
($out, $err) = psql_as($coord, 'app', q{SET rowkeeper.coordinator_hard_delete = 'on';
    BEGIN; SELECT rowkeeper.set_context(tenant => '1') \gset
    DELETE FROM folders WHERE id = 1; COMMIT;});
like($err, qr/cannot delete rows of soft-delete table "files_\d+" physically/,
    'app with the hard-delete flag SET for the session: the cascade into a soft-delete child is refused on the shard');
($out, $err) = psql_as($coord, 'app', q{SET rowkeeper.coordinator_hard_delete = 'on'; DELETE FROM local_folders WHERE id = 1;});
like($err, qr/cannot delete rows of soft-delete table "local_files" physically/,
    'app with the hard-delete flag SET for the session: the cascade into a local soft-delete child is refused');
is(su(q{SET rowkeeper.show_deleted = on; SELECT (SELECT count(*) FROM files) || '/' || (SELECT count(*) FROM local_files)}), '4/1',
    'the children are all still there');

# a cascade trigger disabled by the parent's owner: the soft DELETE is
# refused (it would skip the children); enable_soft_delete() again enables it
($out, $err) = psql_as($coord, 'owner_role', q{SET citus.enable_unsafe_triggers = on;
    ALTER TABLE projects DISABLE TRIGGER rowkeeper_soft_delete_cascade;});
is($err, '', 'the owner disables the cascade trigger of projects');
($out, $err) = in_tenant('app', 2, q{DELETE FROM projects WHERE id = 1;});
like($err, qr/cannot soft-delete rows of table "projects(_\d+)?": foreign keys reference it but its cascade trigger is missing or disabled/,
    'a soft DELETE with the cascade trigger disabled: refused');
is(on_shards('projects', 'tenant_id = 2 AND id = 1') . ' ' . on_shards('milestones', 'tenant_id = 2 AND project_id = 1'),
    '2/1:live 2/1:live,2/2:live', 'nothing was marked');
($out, $err) = psql_as($coord, 'owner_role', q{SELECT rowkeeper.enable_soft_delete('projects', deleted_by_column => 'deleted_by');});
is($err, '', 'enable_soft_delete() again: no error');
is(distinct_on_shards(q{SELECT string_agg(t.tgenabled::text, '') FROM pg_trigger t WHERE t.tgrelid = %1$L::regclass
                          AND t.tgfoid = 'rowkeeper.soft_delete_trigger()'::regprocedure}, 'projects'),
    'O', 'the cascade trigger is enabled again on every placement');

# the foreign keys go away again without a deadlock; the cascade trigger stays
$coord->safe_psql('postgres', q{DROP TABLE steps; ALTER TABLE invoices DROP CONSTRAINT invoices_tenant_id_project_id_fkey;});
is(distinct_on_shards(q{SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = %1$L::regclass
                          AND t.tgfoid = 'rowkeeper.soft_delete_trigger()'::regprocedure}, qw(projects milestones)),
    '1', 'after DROP TABLE of a child and DROP CONSTRAINT: no deadlock, the cascade trigger stays on every placement');
($out, $err) = psql_as($coord, 'owner_role', q{SELECT rowkeeper.enable_soft_delete('memos');});
like($err, qr/Citus table (public\.)?memos has row-level security policies of its own/,
    'enable_soft_delete() on a Citus table with a policy of its own: refused, clear error');
is(distinct_on_shards($placement_shape, 'memos'), '0:false:false', 'memos: no placement got soft delete');
($out, $err) = ('', '');
$coord->psql('postgres', q{CREATE POLICY mine ON accounts USING (true);}, stdout => \$out, stderr => \$err);
ok($err =~ /ERROR/ || su($citus_checks) =~ /^tenant\.citus_foreign_policy fail public\.accounts: mine$/m,
    'a policy of its own created on a Citus soft-delete table afterwards: refused, or preflight fails on it')
  or diag("CREATE POLICY: $err; preflight: " . su($citus_checks));
su(q{DROP POLICY IF EXISTS mine ON accounts});
# a timestamp(3) column (Prisma's DateTime): kept in UTC, the
# coordinator's time rounded to the column's precision (as on one node);
# time_zone => 'session' is refused on Citus
$coord->safe_psql('postgres', q{
    CREATE TABLE reminders (tenant_id int NOT NULL, id int NOT NULL, "deletedAt" timestamp(3),
                            PRIMARY KEY (tenant_id, id));
    SELECT create_distributed_table('reminders', 'tenant_id', colocate_with => 'accounts');
    INSERT INTO reminders SELECT t, i FROM generate_series(1, 4) t, generate_series(1, 2) i;
    ALTER TABLE reminders OWNER TO owner_role;
    GRANT SELECT, INSERT, UPDATE, DELETE ON reminders TO app;
});
($out, $err) = psql_as($coord, 'owner_role', q{SELECT rowkeeper.enable_tenant_isolation('reminders');
    SELECT rowkeeper.enable_soft_delete('reminders', 'deletedAt', time_zone => 'session');});
like($err, qr/time_zone => 'session' is not supported on Citus table (public\.)?reminders/,
    'enable_soft_delete() with time_zone => session for a timestamp column of a Citus table: refused');
($out, $err) = psql_as($coord, 'owner_role', q{SELECT rowkeeper.enable_soft_delete('reminders', 'deletedAt');});
is($err, '', 'enable_soft_delete() with a timestamp(3) column (UTC) on a Citus table: no error');
($out, $err) = in_tenant('app', 1, q{SET LOCAL TimeZone = 'Asia/Tokyo';
    DELETE FROM reminders WHERE id = 1;
    SELECT count(*) FROM reminders;
    SELECT (now() AT TIME ZONE 'UTC')::timestamp(3)::text;}, tags => 1);
my @r = split /\n/, "$out$err";
is("@r[0 .. 1]", 'DELETE 1 1', 'a timestamp(3) column: DELETE 1, the row is hidden');
is(distinct_on_shards(q{SELECT "deletedAt"::text || '/' || ("deletedBatch" IS NOT NULL) FROM %1$s WHERE "deletedAt" IS NOT NULL}, 'reminders'),
    ($r[2] // '-') . '/true', 'a timestamp(3) column: marked on the shard with the coordinator\'s time in UTC, rounded (session in Tokyo), and a batch');

################################################################ 10. shard move
# the placements a move creates (as the table's owner: it may create in
# schema public) have the guard, the hiding condition and only tenant-
# confined policies; soft delete goes on working there
$coord->safe_psql('postgres', q{
    SELECT count(*) FROM run_command_on_all_nodes($$GRANT CREATE ON SCHEMA public TO owner_role, migrator$$)});
my ($from);
($shard, $from) = split /\|/, su(q{
    SELECT shardid, nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('accounts', 1)});
my $to = $from == $w1->port ? $w2 : $w1;
($out, $err) = ('', '');
$coord->psql('postgres', sprintf(q{SELECT citus_move_shard_placement(%d, '%s', %d, '%s', %d, shard_transfer_mode => 'block_writes')},
        $shard, $coord->host, $from, $to->host, $to->port), stdout => \$out, stderr => \$err);
is($err, '', 'the shard group of tenant 1 moves to the other worker: no error');
is(su(q{SELECT nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('accounts', 1)}),
    $to->port, 'the shard of tenant 1 is on the other worker');
for my $tbl (qw(accounts orders milestones))
{
    is(distinct_on_shards($placement_shape, $tbl), '1:true:true',
        "$tbl after the move: every placement has the guard trigger, the hiding policy and forced RLS");
    is(distinct_on_shards($foreign_policies, $tbl), '',
        "$tbl after the move: no placement has a policy without the tenant predicate");
}
($out, $err) = in_tenant('app', 1, q{DELETE FROM accounts WHERE id = 5;
    SELECT string_agg(id::text, ',' ORDER BY id) FROM accounts;
    SELECT string_agg(DISTINCT tenant_id::text, ',') FROM accounts;}, tags => 1);
is("$out$err", "DELETE 1\n1,3,4,6\n1", 'after the move: a soft DELETE hides the row, only the tenant\'s rows are read');
is(on_shards('accounts', 'tenant_id = 1 AND id = 5'), '1/5:deleted:alice', 'after the move: the row is marked on the new placement');
($out, $err) = in_tenant('app', 1, q{DELETE FROM projects WHERE id = 2;}, tags => 1);
is("$out$err", 'DELETE 1', 'after the move: a soft DELETE of a project with children');
is(on_shards('milestones', 'tenant_id = 1 AND project_id = 2'), '1/3:deleted:alice,1/4:deleted:alice',
    'after the move: the cascade marks the children on the new placements');
is(ok_in_tenant('support', 1, q{SET LOCAL rowkeeper.show_deleted = on;
        SELECT string_agg(id::text, ',' ORDER BY id) FROM accounts WHERE deleted_at IS NOT NULL;}, 'show_deleted after the move'),
    '5', 'after the move: show_deleted shows the tenant\'s deleted rows');
is(su($citus_checks), '', 'preflight is clean after the move');

################################################################ 11. preflight
# a permissive USING (true) policy planted on one worker's shard
($shard, $port) = split /\|/, su(q{
    SELECT shard_name, nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column('accounts', 1)});
($holder) = grep { $_->port == $port } ($w1, $w2);
$holder->safe_psql('postgres', qq{CREATE POLICY planted ON $shard USING (true)});
like(su($citus_checks), qr/^tenant\.citus_shard_policies fail public\.accounts$/m,
    'preflight fails on a USING (true) policy planted on one worker\'s shard');
$holder->safe_psql('postgres', qq{DROP POLICY planted ON $shard});
is(su($citus_checks), '', 'preflight is clean again once the planted policy is gone');

################################################################ 12. disable
# disable_soft_delete() after DDL on the table in the same transaction: its
# count over the shards (in connections of their own) would wait forever
# for this transaction's locks; it fails after a lock timeout, saying why
($out, $err) = psql_as($coord, 'owner_role', q{BEGIN; ALTER TABLE orders ADD COLUMN note text;
    SELECT rowkeeper.disable_soft_delete('orders'); ROLLBACK;});
like($err, qr/cannot count the rows of shard \d+ of (public\.)?orders.*lock timeout.*HINT:  The shards are counted in connections of their own/s,
    'disable_soft_delete() after DDL in the same transaction: fails after a lock timeout, with the reason (no hang)');
# disable_soft_delete(force => true) on a distributed table: the guard and
# the hiding condition leave every placement, the tenant policies stay;
# the rows that were deleted become visible, DELETE deletes again
($out, $err) = psql_as($coord, 'owner_role', q{SET client_min_messages = warning;    -- its NOTICE: the columns are kept
    SELECT rowkeeper.disable_soft_delete('orders', force => true);});
is($err, '', 'disable_soft_delete(force => true) on a distributed table: no error');
is(distinct_on_shards($placement_shape, 'orders'), '0:false:true',
    'orders: no placement keeps the guard trigger or the hiding policy; RLS stays forced (tenant isolation)');
is(distinct_on_shards($foreign_policies, 'orders'), '', 'orders: the policies left on the placements all confine to the tenant');
($out, $err) = in_tenant('app', 1, q{SELECT string_agg(id::text, ',' ORDER BY id) FROM orders;
    SELECT string_agg(DISTINCT tenant_id::text, ',') FROM orders;
    DELETE FROM orders WHERE id = 6;}, tags => 1);
is("$out$err", "1,2,3,4,6\n1\nDELETE 1", 'after disable: the formerly deleted rows are visible, only the tenant\'s; DELETE works');
is(on_shards('orders', 'tenant_id = 1 AND id = 6'), '', 'after disable: DELETE removes the row physically');
is(su($citus_checks), '', 'preflight is clean after disable_soft_delete()');

################################################################ 13. distributing a soft-delete table
# its hiding policy names the table, which the shards cannot be created
# with: it fails and the table stays local; no worker gets the policy
($out, $err) = ('', '');
$coord->psql('postgres',
    q{CREATE TABLE notes (tenant_id int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant_id, id));
      SELECT rowkeeper.enable_tenant_isolation('notes');
      SELECT rowkeeper.enable_soft_delete('notes');
      SET citus.enable_unsafe_triggers = on;
      SELECT create_distributed_table('notes', 'tenant_id');},
    stdout => \$out, stderr => \$err);
like($err, qr/ERROR/, 'distributing a local soft-delete table fails');
is(su(q{SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'notes'::regclass}),
   '0', 'the soft-delete table stays a local table');
is(su(q{SELECT sum(result::int) FROM run_command_on_workers(
            $$SELECT count(*) FROM pg_policy WHERE polrelid::regclass::text LIKE 'notes%'$$)}),
   '0', 'no worker has a policy of it');

for my $node ($coord, $w1, $w2) { $node->stop; }
done_testing();
