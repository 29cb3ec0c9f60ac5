# 067_forget_dump.pl: erasure survives pg_dump and restore.  The erased
# entries (their "erased" column), the seal's salts and the pseudonym key
# (rowkeeper.audit_erasure_key, a configuration table) are dumped, so the
# restored chain verifies, the erased values stay gone, and forget_actor()
# gives an actor the same pseudonym as before the dump.
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
    CREATE TABLE people (id int PRIMARY KEY, email text, name text);
    SELECT rowkeeper.enable_audit('people');
    BEGIN;
    SELECT rowkeeper.set_context('user:erin', NULL, NULL, '192.0.2.9', 'ErinBrowser');
    INSERT INTO people VALUES (1, 'erin@private.example', 'Erin Private'), (2, 'x@example.com', 'X');
    UPDATE people SET email = 'erin2@private.example' WHERE id = 1;
    COMMIT;
    SELECT rowkeeper.seal_audit_log();
});
my $pseudonym = $node->safe_psql('postgres', q{
    SELECT rowkeeper.forget('people', '{"id": 1}');
    SELECT pseudonym FROM rowkeeper.forget_actor('user:erin');
});
$pseudonym = (split /\n/, $pseudonym)[-1];
like($pseudonym, qr/^\[erased:[0-9a-f]{16}\]$/, 'a pseudonym');
$node->safe_psql('postgres', 'SELECT rowkeeper.seal_audit_log()');

my $check = q{
    SELECT (SELECT problem IS NULL AND unsealed = 0 FROM rowkeeper.verify_audit_chain())
           || '|' || (SELECT count(*) FROM rowkeeper.audit_log l WHERE l::text ~ '(private|erin)')
           || '|' || (SELECT count(*) FROM rowkeeper.audit_log WHERE erased IS NOT NULL)
};
is($node->safe_psql('postgres', $check), 'true|0|3', 'before: verifies, values gone, 3 erased');

my $dump = $node->basedir . '/dump.sql';
command_ok([ 'pg_dump', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('restored'),
             '-f', $dump ], 'restore');

is($node->safe_psql('restored', $check), 'true|0|3', 'restored: verifies, values gone, 3 erased');

# erin acts again after the restore: the same pseudonym, and the chain verifies
my $again = $node->safe_psql('restored', q{
    BEGIN;
    SELECT rowkeeper.set_context('user:erin');
    INSERT INTO people VALUES (3, 'e3@example.com', 'E3');
    COMMIT;
    SELECT pseudonym || '|' || entries FROM rowkeeper.forget_actor('user:erin');
});
is((split /\n/, $again)[-1], "$pseudonym|1", 'restored: the same pseudonym for new entries');
$node->safe_psql('restored', 'SELECT rowkeeper.seal_audit_log()');
is($node->safe_psql('restored', $check), 'true|0|4', 'restored: verifies after a new erasure');

$node->stop;
done_testing();
