# 062_tenant_token.pl: with rowkeeper.tenant_mode = token in
# postgresql.conf, no connection-time path can choose a tenant: PGOPTIONS,
# ALTER ROLE ... SET and ALTER DATABASE ... SET (stored while the library
# was not loaded, so never validated), a SET made before the library
# loaded; with the library not loaded, loaded on first use, and preloaded
# (session_preload_libraries).  A token still works in each case.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

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

my $token = $node->safe_psql('postgres',
    q{SELECT rowkeeper.sign_tenant_token('globex', now() + interval '5 minutes')});

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
    my ($label) = @_;
    my ($out, $err);

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
    like($out, qr/^globex\nglobex secret$/m, "$label: a token works") or diag($err);
}

no_access_cases('library loaded on first use');

$node->append_conf('postgresql.conf', q{session_preload_libraries = 'rowkeeper'});
$node->reload;
no_access_cases('library preloaded');

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
