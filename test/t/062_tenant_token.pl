# 062_tenant_token.pl: with rowkeeper.tenant_mode = token in
# postgresql.conf, no connection-time path can choose a tenant: PGOPTIONS,
# ALTER ROLE ... SET and ALTER DATABASE ... SET (stored while the library
# was not loaded, so never validated), a SET made before the library
# loaded; with the library not loaded, loaded on first use, and preloaded
# (session_preload_libraries).  A token works only with the library
# preloaded: loaded on first use, the configured key was readable by any
# role (a placeholder knows nothing of GUC_SUPERUSER_ONLY), so rowkeeper
# refuses to sign or verify with it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Digest::SHA qw(hmac_sha256_hex);

my $key = 'tap-token-test-key-0123456789abcdef0123';
my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', qq{
rowkeeper.tenant_mode = token
rowkeeper.tenant_key = '$key'
});
$node->start;

$node->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE ROLE app LOGIN;
    CREATE ROLE app2 LOGIN;
    CREATE DATABASE other;
    CREATE TABLE t (id int PRIMARY KEY, tenant_id text NOT NULL, v text);
    SELECT rowkeeper.enable_tenant_isolation('t');
    INSERT INTO t VALUES (1, 'acme', 'acme secret'), (2, 'globex', 'globex secret');
    GRANT SELECT ON t TO app, app2;
});
# Stored by sessions that have not loaded rowkeeper: not validated then.
$node->safe_psql('postgres', q{ALTER ROLE app2 SET rowkeeper.tenant = 'acme'});
$node->safe_psql('other', q{ALTER DATABASE postgres SET rowkeeper.tenant = 'globex'});
is($node->safe_psql('postgres',
        q{SELECT count(*) FROM pg_db_role_setting, unnest(setconfig) s WHERE s LIKE 'rowkeeper.tenant=%'}),
    '2', 'role and database defaults for the tenant were stored');

# Signed here, as the tenant service would (the server refuses to sign
# while the library is not preloaded).
my $payload = 'v1.' . (time() + 300) . '.globex';
my $token = "$payload." . hmac_sha256_hex($payload, $key);

# read(user, sql, pgoptions): psql as user; returns (stdout, stderr)
sub read_as
{
    my ($user, $sql, $pgoptions) = @_;
    local $ENV{PGOPTIONS} = $pgoptions // '';
    my ($ret, $out, $err) = $node->psql('postgres', $sql,
        extra_params => [ '-U', $user ], on_error_stop => 1);
    return ($out, $err);
}

sub no_access_cases
{
    my ($label, $preloaded) = @_;
    my ($out, $err);

    ($out, $err) = read_as('app', q{SHOW rowkeeper.tenant_key});
    if ($preloaded)
    {
        is($out, '', "$label: the key cannot be read");
        # the wording changed in 16 ("permission denied to examine")
        like($err, qr/(?:must be superuser or have privileges of pg_read_all_settings|permission denied) to examine "rowkeeper\.tenant_key"/,
            "$label: SHOW of the key is refused");
    }
    else
    {
        is($out, $key, "$label: PostgreSQL shows the configured key to any role (why it is refused)");
    }

    ($out, $err) = read_as('app', q{SELECT string_agg(v, ',') FROM t}, '-c rowkeeper.tenant=acme');
    is($out, '', "$label: PGOPTIONS -c rowkeeper.tenant gives no rows");
    like($err, qr/set_tenant_token|no tenant is set/, "$label: PGOPTIONS is refused or dropped");

    ($out, $err) = read_as('app2', q{SELECT string_agg(v, ',') FROM t});
    is($out, '', "$label: ALTER ROLE ... SET rowkeeper.tenant gives no rows");
    like($err, qr/set_tenant_token|no tenant is set/, "$label: role default refused or dropped");

    ($out, $err) = read_as('app', q{SET rowkeeper.tenant = 'acme'; SELECT string_agg(v, ',') FROM t});
    is($out, '', "$label: SET before first use gives no rows");
    like($err, qr/set_tenant_token|no tenant is set/, "$label: SET refused or dropped");

    # A role that may not set the mode: its value replaces the configured
    # one while the library is not loaded, is then refused, and the session
    # falls back to token mode, not to the default (context).  (The DO
    # block loads the library, as any call of a rowkeeper function does.)
    ($out, $err) = read_as('app',
        q{DO 'BEGIN PERFORM rowkeeper.current_actor(); END';
          SELECT current_setting('rowkeeper.tenant_mode');
          SET rowkeeper.tenant = 'acme'; SELECT string_agg(v, ',') FROM t},
        '-c rowkeeper.tenant_mode=context');
    is($out, 'token', "$label: PGOPTIONS cannot leave token mode");
    like($err, qr/this session uses token mode/, "$label: with a warning");

    ($out, $err) = read_as('app', q{SELECT string_agg(v, ',') FROM t},
        '-c rowkeeper.tenant_mode=context -c rowkeeper.tenant=acme');
    is($out, '', "$label: PGOPTIONS mode and tenant together give no rows");

    ($out, $err) = read_as('app',
        q{SET rowkeeper.tenant_mode = context; SET rowkeeper.tenant = 'acme'; SELECT string_agg(v, ',') FROM t});
    is($out, '', "$label: SET of the mode before first use gives no rows");

    ($out, $err) = read_as('app',
        qq{BEGIN; SELECT rowkeeper.set_tenant_token('$token'); SELECT string_agg(v, ',') FROM t; COMMIT;},
        '-c rowkeeper.tenant=acme');
    if ($preloaded)
    {
        like($out, qr/^globex\nglobex secret$/m, "$label: a token works") or diag($err);
    }
    else
    {
        unlike($out, qr/secret/, "$label: no token verifies with an exposed key");
        like($err, qr/tenant_key is not protected: rowkeeper is not preloaded/,
            "$label: the key is refused, with the reason");
    }
}

no_access_cases('library loaded on first use', 0);

$node->append_conf('postgresql.conf', q{session_preload_libraries = 'rowkeeper'});
$node->reload;
no_access_cases('library preloaded', 1);

# The superuser cannot set it by ALTER ROLE once the library is loaded.
my ($ret, $out, $err) = $node->psql('postgres', q{ALTER ROLE app SET rowkeeper.tenant = 'acme'});
isnt($ret, 0, 'ALTER ROLE ... SET rowkeeper.tenant refused with the library loaded');
like($err, qr/can only be set with rowkeeper.set_tenant_token/, 'with the reason');

# A superuser may still choose the mode at connection time.
($out, $err) = read_as($node->safe_psql('postgres', 'SELECT current_user'),
    q{SELECT current_setting('rowkeeper.tenant_mode')}, '-c rowkeeper.tenant_mode=context');
is($out, 'context', 'a superuser can choose context mode with PGOPTIONS');

$node->stop;
done_testing();
