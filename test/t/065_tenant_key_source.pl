# 065_tenant_key_source.pl: a tenant key stored with ALTER DATABASE/ROLE
# ... SET is readable by every role (pg_db_role_setting), so it must never
# verify a token.  The attack: the key is stored for the database (before
# the library was loaded, so nothing checked it), rowkeeper is preloaded,
# the application role reads the key from pg_db_role_setting, signs a token
# for another tenant with the documented algorithm and reads that tenant's
# rows.  Now the key is refused when the session applies it (a WARNING,
# and set_tenant_token() says why no token verifies), storing it while the
# library is loaded is refused for every catalog source (ALTER DATABASE,
# ALTER ROLE, ALTER ROLE ALL, a function's SET clause), and preflight()
# fails while one is stored.  A key in postgresql.conf keeps working.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);

my $file_key = 'tap-file-key-0123456789abcdef0123456789';
my $db_key = 'tap-db-stored-key-0123456789abcdef01234';
my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', q{
rowkeeper.tenant_mode = token
});
$node->start;

# Stored first, by a session that has not loaded rowkeeper (nothing checks
# it then): what README offered as a key source.
$node->safe_psql('postgres', qq{ALTER DATABASE postgres SET rowkeeper.tenant_key = '$db_key'});
$node->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE ROLE app LOGIN;
    CREATE TABLE t (id int PRIMARY KEY, tenant_id text NOT NULL, v text);
    SELECT rowkeeper.enable_tenant_isolation('t');
    INSERT INTO t VALUES (1, 'tenant1', 'tenant 1 row'), (2, 'tenant2', 'tenant 2 secret');
    GRANT SELECT ON t TO app;
});
$node->append_conf('postgresql.conf', q{session_preload_libraries = 'rowkeeper'});
$node->reload;

# as(user, sql): psql; returns (stdout, stderr)
sub as
{
    my ($user, $sql) = @_;
    my ($ret, $out, $err) = $node->psql('postgres', $sql,
        extra_params => [ '-U', $user ], on_error_stop => 1);
    return ($out, $err);
}

sub token
{
    my ($tenant, $key) = @_;
    my $payload = 'v1.' . (time() + 300) . ".$tenant";
    return "$payload." . hmac_sha256_hex($payload, $key);
}

# The application role reads the key ...
my ($stolen, $err) = as('app',
    q{SELECT substr(c, length('rowkeeper.tenant_key=') + 1)
        FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'rowkeeper.tenant\_key=%'});
is($stolen, $db_key, 'every role can read a key stored with ALTER DATABASE ... SET');

# ... and forges a token for tenant 2: no rows of tenant 2.
my $forged = token('tenant2', $stolen);
my $out;
($out, $err) = as('app',
    qq{BEGIN; SELECT rowkeeper.set_tenant_token('$forged'); SELECT string_agg(v, ',') FROM t; COMMIT;});
unlike($out, qr/secret/, 'a token signed with the stored key reads no rows of tenant 2');
like($err, qr/rowkeeper.tenant_key from ALTER DATABASE\/ROLE ... SET was refused/,
    'set_tenant_token() says the stored key was refused');
like($err, qr/WARNING:  rowkeeper.tenant_key cannot come from ALTER DATABASE\/ROLE/,
    'the session warned when it refused the key');
unlike($err, qr/\Q$db_key\E/, 'no message prints the key');

# preflight fails, names the place and the fix
($out, $err) = as($node->safe_psql('postgres', 'SELECT current_user'),
    q{SELECT status, detail LIKE '%ALTER DATABASE postgres%', fix LIKE 'ALTER DATABASE postgres RESET rowkeeper.tenant_key;%'
        FROM rowkeeper.preflight() WHERE check_name = 'settings.tenant_key_source'});
is($out, 'fail|t|t', 'preflight fails on a stored key, naming it and the fix');

# With the library loaded, no catalog source takes a key (superuser too).
for my $sql (
    qq{ALTER DATABASE postgres SET rowkeeper.tenant_key = '$db_key'},
    qq{ALTER ROLE app SET rowkeeper.tenant_key = '$db_key'},
    qq{ALTER ROLE app IN DATABASE postgres SET rowkeeper.tenant_key = '$db_key'},
    qq{ALTER ROLE ALL SET rowkeeper.tenant_key = '$db_key'},
    qq{CREATE FUNCTION f() RETURNS int LANGUAGE sql SET rowkeeper.tenant_key = '$db_key' AS 'SELECT 1'})
{
    my ($ret, $o, $e) = $node->psql('postgres', $sql);
    isnt($ret, 0, "refused: " . substr($sql, 0, 40));
    like($e, qr/rowkeeper.tenant_key cannot come from ALTER DATABASE\/ROLE ... SET or a function's SET clause/,
        'with the reason');
}
is($node->safe_psql('postgres',
        q{SELECT count(*) FROM pg_db_role_setting, unnest(setconfig) c WHERE c LIKE 'rowkeeper.tenant\_key=%'}),
    '1', 'nothing more was stored');

# The key in postgresql.conf: a stored key never wins over it ...
$node->append_conf('postgresql.conf', qq{rowkeeper.tenant_key = '$file_key'});
$node->reload;
($out, $err) = as('app',
    qq{BEGIN; SELECT rowkeeper.set_tenant_token('$forged'); SELECT string_agg(v, ',') FROM t; COMMIT;});
unlike($out, qr/secret/, 'with a key in postgresql.conf too, the forged token reads nothing');

# ... and once the stored one is gone, the configured key signs and verifies.
$node->safe_psql('postgres', q{ALTER DATABASE postgres RESET rowkeeper.tenant_key});
my $good = token('tenant2', $file_key);
($out, $err) = as('app',
    qq{BEGIN; SELECT rowkeeper.set_tenant_token('$good'); SELECT string_agg(v, ',') FROM t; COMMIT;});
like($out, qr/^tenant2\ntenant 2 secret$/m, 'a token signed with the configured key works') or diag($err);
($out, $err) = as('app',
    qq{BEGIN; SELECT rowkeeper.set_tenant_token('$forged'); SELECT string_agg(v, ',') FROM t; COMMIT;});
like($err, qr/invalid tenant token signature/, 'the stolen key signs nothing');
is($node->safe_psql('postgres',
        q{SELECT status FROM rowkeeper.preflight() WHERE check_name = 'settings.tenant_key_source'}),
    'ok', 'preflight ok once the stored key is gone');

$node->stop;
done_testing();
