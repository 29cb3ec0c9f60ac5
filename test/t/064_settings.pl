# 064_settings.pl: the superuser-only settings cannot be changed by an
# application role in any of the four ways (SET, set_config(), ALTER
# ROLE/DATABASE ... SET, PGOPTIONS), neither with the library loaded on
# first use nor preloaded.
#
# rowkeeper.audit_min_retention (400 days in postgresql.conf) is the
# floor of purge_audit_log().  Before rowkeeper is loaded in a backend, a
# SET or a connection option lands in a placeholder that current_setting()
# returns as is; the purge read it that way and took the role's '0'
# (found by this test).  It now reads the setting through C, which loads
# the library first: a SET made before is refused and the configured value
# stays; a refused PGOPTIONS value has replaced the configured one, so
# that session cannot purge at all.  rowkeeper.tenant_mode and
# rowkeeper.tenant_key: ALTER ROLE/DATABASE by the role itself (the
# database owner) are refused too (the other ways are 062_tenant_token.pl).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', q{
rowkeeper.audit_min_retention = '400 days'
});
$node->start;

$node->safe_psql('postgres', q{
    CREATE ROLE app LOGIN;
    CREATE DATABASE appdb OWNER app;
});
$node->safe_psql('appdb', q{
    CREATE EXTENSION rowkeeper;
    -- enough for purge_audit_log() to get past its checks as app, so that
    -- a bypassed floor would show as a later error, not this one
    GRANT EXECUTE ON PROCEDURE rowkeeper.purge_audit_log TO app;
    GRANT SELECT ON rowkeeper.audit_log, rowkeeper.audit_seal TO app;
});

# as_app(sql, pgoptions): psql as app in appdb; returns (stdout, stderr)
sub as_app
{
    my ($sql, $pgoptions) = @_;
    local $ENV{PGOPTIONS} = $pgoptions // '';
    my ($ret, $out, $err) = $node->psql('appdb', $sql,
        extra_params => [ '-U', 'app' ], on_error_stop => 1);
    return ($out, $err);
}

my $purge = q{CALL rowkeeper.purge_audit_log('1 day', dry_run => true)};
my $floor = qr/a retention of 1 day is below rowkeeper.audit_min_retention \(400 days\)/;

sub cases
{
    my ($label) = @_;
    my ($out, $err);

    ($out, $err) = as_app(q{SELECT rowkeeper._audit_min_retention()});
    is($out, '400 days', "$label: the purge sees the configured floor");

    # first statement of the session: before the library loads, unless
    # preloaded (then refused at once)
    my $kept = qr/$floor|permission denied to set parameter "rowkeeper.audit_min_retention"/;
    ($out, $err) = as_app(qq{SET rowkeeper.audit_min_retention = '0'; $purge});
    like($err, $kept, "$label: SET as the session's first statement leaves the floor");

    ($out, $err) = as_app(qq{SELECT set_config('rowkeeper.audit_min_retention', '0', false); $purge});
    like($err, $kept, "$label: set_config() as the session's first statement leaves the floor");

    ($out, $err) = as_app(qq{SELECT rowkeeper.current_actor(); SET rowkeeper.audit_min_retention = '0'});
    like($err, qr/permission denied to set parameter "rowkeeper.audit_min_retention"/,
        "$label: SET with the library loaded is refused");

    ($out, $err) = as_app(q{ALTER ROLE app SET rowkeeper.audit_min_retention = '0'});
    like($err, qr/permission denied to set parameter/, "$label: ALTER ROLE ... SET is refused");

    ($out, $err) = as_app(q{ALTER DATABASE appdb SET rowkeeper.audit_min_retention = '0'});
    like($err, qr/permission denied to set parameter/,
        "$label: ALTER DATABASE ... SET by the database owner is refused");

    ($out, $err) = as_app($purge, '-c rowkeeper.audit_min_retention=0');
    like($err, qr/rowkeeper.audit_min_retention was given by a role that may not set it/,
        "$label: PGOPTIONS: no purge in that session");
    unlike($err, $floor, "$label: PGOPTIONS: not even checked against a floor it cannot know");

    ($out, $err) = as_app(q{ALTER ROLE app SET rowkeeper.tenant_mode = 'context'});
    like($err, qr/permission denied to set parameter/, "$label: ALTER ROLE ... SET of the tenant mode is refused");
    ($out, $err) = as_app(q{ALTER DATABASE appdb SET rowkeeper.tenant_key = 'app-chosen-key-0123456789abcdef01234'});
    like($err, qr/permission denied to set parameter/, "$label: ALTER DATABASE ... SET of the tenant key is refused");
}

cases('library loaded on first use');
$node->append_conf('postgresql.conf', q{session_preload_libraries = 'rowkeeper'});
$node->reload;
cases('library preloaded');

# Nothing was stored for the role or the database.
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_db_role_setting}), '0',
    'no role or database setting was stored');

# A superuser still can (per role, e.g. for a migration job).
$node->safe_psql('postgres', q{ALTER ROLE app IN DATABASE appdb SET rowkeeper.audit_min_retention = '500 days'});
my ($out, $err) = as_app(q{SELECT rowkeeper._audit_min_retention()});
is($out, '500 days', 'a superuser can set it for the role');

$node->stop;
done_testing();
