# 005_dump_all.pl: one database using every capability survives pg_dump /
# pg_restore: audit triggers and log, updated_at, soft delete (view, guard,
# batch sequence), tenant isolation (forced RLS, policies, default), the
# purge record and the hash chain come back working.  And a data-only
# restore with --disable-triggers into a schema restored first neither
# duplicates audit entries nor rewrites updated_at (the documented flags),
# and the tables keep their audit identity.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('all');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE ROLE app LOGIN;
    CREATE TABLE accounts (id int PRIMARY KEY, tenant_id int NOT NULL, name text,
                           updated_at timestamptz);
    CREATE TABLE notes (id int PRIMARY KEY, body text, expires_at timestamptz NOT NULL);
    CREATE INDEX ON notes (expires_at);
    GRANT SELECT, INSERT, UPDATE, DELETE ON accounts, notes TO app;
    SELECT rowkeeper.enable_updated_at('accounts');
    SELECT rowkeeper.enable_audit('accounts');
    SELECT rowkeeper.enable_tenant_isolation('accounts');
    SELECT rowkeeper.enable_soft_delete('notes');
    GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO app;
    SELECT rowkeeper.enable_audit('notes');
    INSERT INTO accounts VALUES (1, 1, 'one', NULL), (2, 2, 'two', NULL);
    UPDATE accounts SET name = 'uno' WHERE id = 1;
    INSERT INTO notes VALUES (1, 'keep', now() + interval '1 day'), (2, 'old', now() - interval '1 day');
    DELETE FROM notes WHERE id = 1;
    SELECT rowkeeper.seal_audit_log();
});

my $state = q{
    SELECT (SELECT count(*) FROM rowkeeper.audit_log) || ' entries; ' ||
           (SELECT string_agg(table_name::text || ':' || mode, ',' ORDER BY table_name::text)
              FROM rowkeeper.audited_tables) || '; ' ||
           (SELECT string_agg(table_name::text, ',' ORDER BY 1) FROM rowkeeper.updated_at_tables) || '; ' ||
           (SELECT string_agg(table_name::text || ':' || hidden, ',') FROM rowkeeper.soft_delete_tables) || '; ' ||
           (SELECT string_agg(table_name::text || ':' || rls_forced, ',') FROM rowkeeper.tenant_isolated_tables) || '; ' ||
           (SELECT verified || ' verified' FROM rowkeeper.verify_audit_chain())
};
my $before = $node->safe_psql('postgres', $state);

my $dump = $node->basedir . '/all.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE copy');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('copy'), $dump ], 'pg_restore');
is($node->safe_psql('copy', $state), $before, 'every capability and the log come back');

# they work in the copy
like($node->safe_psql('copy', q{
        SET ROLE app;
        BEGIN;
        SELECT rowkeeper.set_context(tenant => '1', actor => 'restored');
        UPDATE accounts SET name = 'ichi' WHERE id = 1;
        SELECT string_agg(id::text, ',') FROM accounts;
        COMMIT;}), qr/(^|\n)1\z/, 'tenant isolation confines the app role in the copy (sees row 1 only)');
is($node->safe_psql('copy', q{
        SELECT op || ' ' || actor || ' ' || (updated_at_set)::text FROM (
          SELECT l.op, l.actor, (SELECT updated_at IS NOT NULL FROM accounts WHERE id = 1) AS updated_at_set
            FROM rowkeeper.audit_log l ORDER BY l.id DESC LIMIT 1) s}),
    'UPDATE restored true', 'auditing and updated_at work in the copy');
my ($ret, $out, $err) = $node->psql('copy', 'SELECT count(*) FROM accounts', extra_params => [ '-U', 'app' ]);
like($err, qr/no tenant is set/, 'no tenant: still an error in the copy');
is($node->safe_psql('copy', q{
        LOAD 'rowkeeper';
        DELETE FROM notes WHERE id = 2;
        SELECT count(*) FILTER (WHERE deleted_at IS NULL) || ' live, ' || count(*) || ' kept' FROM notes}),
    '0 live, 2 kept', 'soft delete works in the copy');

# data-only restore with --disable-triggers into a restored schema
$node->safe_psql('postgres', 'CREATE DATABASE dataonly');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--schema-only', '-d', $node->connstr('dataonly'), $dump ],
    'schema-only restore');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--data-only', '--disable-triggers',
                    '-d', $node->connstr('dataonly'), $dump ], 'data-only restore with --disable-triggers');
is($node->safe_psql('dataonly', q{SELECT count(*) FROM rowkeeper.audit_log}),
    $node->safe_psql('postgres', q{SELECT count(*) FROM rowkeeper.audit_log}),
    'the log is restored once: no entries for the restored rows');
is($node->safe_psql('dataonly', q{SELECT updated_at FROM accounts ORDER BY id}),
    $node->safe_psql('postgres', q{SELECT updated_at FROM accounts ORDER BY id}),
    'updated_at is restored as it was, not rewritten');
# the restored schema's tables had no audit identity until the data came:
# the first audited write takes the dumped one back, so history continues
like($node->safe_psql('dataonly', q{
        BEGIN;
        SELECT rowkeeper.set_context(tenant => '1', actor => 'after');
        UPDATE accounts SET name = 'ichi' WHERE id = 1;
        COMMIT;
        SELECT string_agg(op || ' ' || (row_data->>'name'), ', ' ORDER BY audit_id)
          FROM rowkeeper.row_history('accounts', '{"id": 1}')}),
    qr/(^|\n)INSERT one, UPDATE uno, UPDATE ichi\z/,
    'a schema-only then data-only restore keeps each table\'s audit identity');

$node->stop;
done_testing();
