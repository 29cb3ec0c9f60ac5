# 066_owner_dump.pl: the database owner, a non-superuser (as neondb_owner
# is), runs its migrations and its pg_dump without a tenant; a restore of
# that dump reproduces schema, configuration and data.
#
# Before: pg_dump -s as the owner failed with "permission denied for table
# audit_log_y2026m12" (the monthly partitions belong to the superuser who
# installed rowkeeper, and pg_dump locks and reads each), a full pg_dump
# also on rowkeeper's configuration tables and, for the tenant tables, with
# "query would be affected by row-level security policy" (FORCE RLS applies
# to the owner; pg_dump runs with row_security off), and the owner's
# ALTER TABLE ... ADD FOREIGN KEY failed with "no tenant is set".
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', q{shared_preload_libraries = 'rowkeeper'});
$node->start;

$node->safe_psql('postgres', q{
    CREATE ROLE app_owner LOGIN;
    CREATE ROLE app LOGIN;
    CREATE DATABASE appdb OWNER app_owner;
});
# the extension is installed by a superuser (as a hosting provider does)
$node->safe_psql('appdb', q{
    CREATE EXTENSION rowkeeper;
    GRANT CREATE ON SCHEMA public TO app_owner;
});

# the owner's migrations: tables, rowkeeper's enable_* calls, a foreign key
# added later (validated across every tenant without a tenant set)
my $migrate = sub {
    my ($sql, $name) = @_;
    my ($ret, $out, $err) = $node->psql('appdb', $sql,
        extra_params => [ '-U', 'app_owner', '-v', 'ON_ERROR_STOP=1' ]);
    is($ret, 0, $name) or diag($err);
};
$migrate->(q{
    CREATE TABLE users (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, name text,
                        updated_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE comments (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, user_id bigint,
                           body text);
    CREATE TABLE sessions (id int PRIMARY KEY, expires_at timestamptz NOT NULL);
    CREATE INDEX ON sessions (expires_at);
    SELECT rowkeeper.enable_tenant_isolation('users');
    SELECT rowkeeper.enable_tenant_isolation('comments');
    SELECT rowkeeper.enable_audit('users');
    SELECT rowkeeper.enable_audit('comments');
    SELECT rowkeeper.enable_updated_at('users');
    GRANT SELECT, INSERT, UPDATE, DELETE ON users, comments TO app;
}, 'migration 1 as the owner: tables and enable_* calls');

# the application writes, per tenant
$node->safe_psql('appdb', q{
    BEGIN;
    SELECT rowkeeper.set_context(actor => 'alice', tenant => '1');
    INSERT INTO users (id, name) VALUES (1, 'ann'), (2, 'bob');
    INSERT INTO comments (id, user_id, body) VALUES (1, 1, 'hi'), (2, 2, 'gone');
    UPDATE users SET name = 'Ann' WHERE id = 1;
    DELETE FROM comments WHERE id = 2;
    COMMIT;
    BEGIN;
    SELECT rowkeeper.set_context(actor => 'carl', tenant => '2');
    INSERT INTO users (id, name) VALUES (3, 'cid');
    INSERT INTO comments (id, user_id, body) VALUES (3, 3, 'other tenant');
    COMMIT;
}, extra_params => [ '-U', 'app' ]);

$migrate->(q{
    ALTER TABLE comments ADD CONSTRAINT comments_user_fk FOREIGN KEY (user_id) REFERENCES users (id);
    INSERT INTO sessions VALUES (1, now() - interval '1 day'), (2, now() + interval '1 day');
    CALL rowkeeper.purge_expired('sessions', 'expires_at');
}, 'migration 2 as the owner without a tenant: a foreign key across tenants, a purge');

# still fail closed for the owner's own queries without a tenant
my ($ret, $out, $err) = $node->psql('appdb', 'SELECT count(*) FROM users',
    extra_params => [ '-U', 'app_owner' ]);
like($err, qr/no tenant is set/, "the owner's SELECT without a tenant fails closed");

# the application role cannot dump (nor read the log)
($ret, $out, $err) = $node->psql('appdb', 'SELECT count(*) FROM rowkeeper.audit_log',
    extra_params => [ '-U', 'app' ]);
like($err, qr/permission denied/, 'the application role cannot read the audit log');

my $dir = $node->basedir;
command_ok([ 'pg_dump', '-s', '-U', 'app_owner', '-d', $node->connstr('appdb'),
             '-f', "$dir/schema.sql" ], 'pg_dump -s as the database owner');
command_ok([ 'pg_dump', '-U', 'app_owner', '-d', $node->connstr('appdb'),
             '-f', "$dir/full.sql" ], 'pg_dump as the database owner');
command_ok([ 'pg_dump', '-Fc', '-U', 'app_owner', '-d', $node->connstr('appdb'),
             '-f', "$dir/full.dump" ], 'pg_dump -Fc as the database owner');
command_fails([ 'pg_dump', '-U', 'app', '-d', $node->connstr('appdb'),
                '-f', "$dir/app.sql" ], 'pg_dump as the application role still fails');

# restore (as a superuser: CREATE EXTENSION rowkeeper needs one) into new databases
$node->safe_psql('postgres', 'CREATE DATABASE restored OWNER app_owner');
command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'),
             '-f', "$dir/full.sql" ], 'restore of the plain dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored_fc OWNER app_owner');
command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored_fc'),
             "$dir/full.dump" ], 'pg_restore of the custom-format dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored_s OWNER app_owner');
command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored_s'),
             '-f', "$dir/schema.sql" ], 'restore of the schema-only dump');

# what to compare, read as a superuser
my $config_sql = q{
    SELECT string_agg(x, E'\n' ORDER BY x) FROM (
        SELECT 'audit ' || table_name || ' ' || mode AS x FROM rowkeeper.audited_tables
        UNION ALL SELECT 'tenant ' || table_name || ' ' || column_name || ' ' || rls_forced
          FROM rowkeeper.tenant_isolated_tables
        UNION ALL SELECT 'updated_at ' || table_name || ' ' || column_name FROM rowkeeper.updated_at_tables
        UNION ALL SELECT 'trigger ' || tgrelid::regclass || ' ' || tgname FROM pg_trigger
         WHERE NOT tgisinternal
        UNION ALL SELECT 'policy ' || polrelid::regclass || ' ' || polname || ' ' || pg_get_expr(polqual, polrelid)
          FROM pg_policy
        UNION ALL SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || convalidated
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL SELECT 'grant ' || c.oid::regclass || ' ' || a.grantee::regrole || ' ' || a.privilege_type
          FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a
         WHERE c.relnamespace IN ('public'::regnamespace, 'rowkeeper'::regnamespace) AND a.grantee <> 0
    ) s
};
my $data_sql = q{
    SELECT (SELECT string_agg(format('%s/%s/%s', id, tenant_id, name), ' ' ORDER BY id) FROM users) || E'\n' ||
           (SELECT string_agg(format('%s/%s/%s', id, tenant_id, body), ' ' ORDER BY id)
              FROM comments) || E'\n' ||
           (SELECT string_agg(id::text, ' ' ORDER BY id) FROM sessions) || E'\n' ||
           (SELECT count(*) || ' entries, max id ' || max(id) || ', ' ||
                   md5(string_agg(format('%s %s %s %s %s %s %s', id, table_name, op, row_key, old_row, new_row, actor),
                                  '|' ORDER BY id))
              FROM rowkeeper.audit_log) || E'\n' ||
           (SELECT string_agg(format('%s %s %s %s', id, kind, target, rows_deleted), ' ' ORDER BY id)
              FROM rowkeeper.purge_runs) || E'\n' ||
           (SELECT last_value FROM rowkeeper.audit_log_id_seq)
};
my $config = $node->safe_psql('appdb', $config_sql);
my $data = $node->safe_psql('appdb', $data_sql);
like($data, qr/^1\/1\/Ann 2\/1\/bob 3\/2\/cid\n1\/1\/hi 3\/2\/other tenant\n2\n\d+ entries/,
     'the original holds both tenants, the purge and the log') or diag($data);
like($data, qr/expired public\.sessions 1/, "the owner's purge run is in the data") or diag($data);
for my $db ('restored', 'restored_fc') {
    is($node->safe_psql($db, $config_sql), $config, "$db: configuration (triggers, policies, keys, grants)");
    is($node->safe_psql($db, $data_sql), $data, "$db: data of both tenants, audit log, purge runs, sequence");
}
is($node->safe_psql('restored_s', $config_sql), $config, 'schema-only restore: configuration');

# the schema as pg_dump -s sees it (as a superuser), identical
for my $db ('restored', 'restored_fc', 'restored_s') {
    my ($a, $b);
    $node->command_ok([ 'pg_dump', '-s', '-d', $node->connstr('appdb'), '-f', "$dir/a.sql" ], 'pg_dump -s appdb');
    $node->command_ok([ 'pg_dump', '-s', '-d', $node->connstr($db), '-f', "$dir/b.sql" ], "pg_dump -s $db");
    # (pg_dump's \restrict key differs per run)
    ($a = slurp_file("$dir/a.sql")) =~ s/^\\(un)?restrict .*$//mg;
    ($b = slurp_file("$dir/b.sql")) =~ s/^\\(un)?restrict .*$//mg;
    is($b, $a, "$db: pg_dump -s identical to the original's");
}

# the restored database works as the original: isolated, audited, dumpable by its owner
($ret, $out, $err) = $node->psql('restored', 'SELECT count(*) FROM users', extra_params => [ '-U', 'app' ]);
like($err, qr/no tenant is set/, 'restored: fails closed without a tenant');
is($node->safe_psql('restored', q{
    BEGIN;
    SELECT rowkeeper.set_context(tenant => '2');
    UPDATE users SET name = 'Cid' WHERE id = 3;
    SELECT string_agg(name, ',') FROM users;
    COMMIT;
}, extra_params => [ '-U', 'app' ]), "\nCid", 'restored: one tenant visible, writes audited');
command_ok([ 'pg_dump', '-U', 'app_owner', '-d', $node->connstr('restored'),
             '-f', "$dir/again.sql" ], 'restored: pg_dump as its owner');

$node->stop;
done_testing();
