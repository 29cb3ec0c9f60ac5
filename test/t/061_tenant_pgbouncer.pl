# 061_tenant_pgbouncer.pl: behind a real pgbouncer in transaction pooling
# mode, the tenant set with rowkeeper.set_context() (or a tenant token)
# never reaches the next client's transaction on the same server
# connection: that client gets "no tenant is set", never the previous
# tenant's rows.  A session-level SET rowkeeper.tenant does leak (the
# documented unsafe pattern), and token mode refuses it.
#
# pgbouncer (Debian package) listens on 127.0.0.1 only, on a free port,
# with one server connection, so consecutive clients share one backend;
# it is stopped at the end.
use strict;
use warnings;
use File::Temp qw(tempdir);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pgbouncer_bin = '/usr/sbin/pgbouncer';
plan skip_all => "pgbouncer not installed (Debian package pgbouncer)"
  unless -x $pgbouncer_bin;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;

my $key = 'pgbouncer-test-key-0123456789abcdef0123';
$node->safe_psql('postgres', qq{
    CREATE EXTENSION rowkeeper;
    CREATE ROLE app LOGIN;
    CREATE TABLE t (id int PRIMARY KEY, tenant_id text NOT NULL, v text);
    SELECT rowkeeper.enable_tenant_isolation('t');
    INSERT INTO t VALUES (1, 'acme', 'acme secret'), (2, 'globex', 'globex secret');
    GRANT SELECT, INSERT ON t TO app;
});

# --- pgbouncer ---------------------------------------------------------------
my $dir = PostgreSQL::Test::Utils::tempdir();
my $bport = PostgreSQL::Test::Cluster::get_free_port();
my $sockdir = $node->host;
my $pgport = $node->port;
open my $auth, '>', "$dir/userlist.txt" or die $!;
print $auth qq{"app" ""\n};
close $auth;
open my $ini, '>', "$dir/pgbouncer.ini" or die $!;
print $ini <<"EOF";
[databases]
postgres = host=$sockdir port=$pgport dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 20
server_lifetime = 3600
server_idle_timeout = 3600
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
close $ini;

my ($bout, $berr) = ('', '');
my $bouncer = IPC::Run::start([ $pgbouncer_bin, "$dir/pgbouncer.ini" ],
    '>', \$bout, '2>', \$berr);
END { $bouncer->kill_kill if $bouncer; }

# psql through pgbouncer: one client connection, the given statements in
# order; returns (exit code, stdout, stderr).
sub via_bouncer
{
    my @cmds = map { ('-c', $_) } @_;
    my ($out, $err) = ('', '');
    my $rc = IPC::Run::run(
        [ 'psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
          '-h', '127.0.0.1', '-p', $bport, '-U', 'app', '-d', 'postgres', @cmds ],
        '>', \$out, '2>', \$err);
    chomp $out;
    return ($rc ? 0 : 1, $out, $err);
}

# wait until pgbouncer accepts connections
my $up = 0;
for (1 .. 100)
{
    my ($rc) = via_bouncer('SELECT 1');
    if ($rc == 0) { $up = 1; last; }
    select(undef, undef, undef, 0.1);
}
ok($up, 'pgbouncer accepts connections on 127.0.0.1') or diag($berr);

# --- transaction-local context: no leak ----------------------------------------
my ($rc, $out, $err) = via_bouncer('BEGIN',
    q{SELECT rowkeeper.set_context(tenant => 'acme')},
    q{SELECT pg_backend_pid() || ':' || string_agg(v, ',') FROM t},
    'COMMIT');
is($rc, 0, 'client 1: set_context and read') or diag($err);
my ($pid1, $rows1) = split /:/, (split /\n/, $out)[-1];
is($rows1, 'acme secret', 'client 1 sees only its tenant');

($rc, $out, $err) = via_bouncer(
    q{SELECT pg_backend_pid() || ':' || current_setting('rowkeeper.tenant') || ':'});
is($rc, 0, 'client 2 connects');
my ($pid2, $tenant2) = split /:/, $out;
is($pid2, $pid1, 'client 2 runs on the same server connection as client 1');
is($tenant2 // '', '', 'client 2 starts with an empty tenant');

($rc, $out, $err) = via_bouncer('SELECT count(*) FROM t');
isnt($rc, 0, 'client 3 without a tenant cannot read');
like($err, qr/no tenant is set/, 'client 3 gets "no tenant is set", not client 1\'s rows');

# a client that starts a transaction, sets the tenant and disconnects
# without committing: pgbouncer rolls the server connection back
($rc, $out, $err) = via_bouncer('BEGIN',
    q{SELECT rowkeeper.set_context(tenant => 'globex')},
    q{SELECT count(*) FROM t});
($rc, $out, $err) = via_bouncer(
    q{SELECT pg_backend_pid() || ':' || current_setting('rowkeeper.tenant') || ':'});
my ($pid3, $tenant3) = split /:/, $out;
is($tenant3 // '', '', 'no tenant left behind by a client that disconnected mid-transaction');

# --- the unsafe pattern: session-level SET ----------------------------------
($rc, $out, $err) = via_bouncer(q{SET rowkeeper.tenant = 'acme'});
($rc, $out, $err) = via_bouncer(q{SELECT current_setting('rowkeeper.tenant')});
is($out, 'acme',
    'a session-level SET leaks into the next client (why set_context is transaction-local)');
via_bouncer('RESET rowkeeper.tenant');

# --- token mode: the session-level SET is refused; tokens do not leak -----------
$node->append_conf('postgresql.conf', qq{
rowkeeper.tenant_mode = token
rowkeeper.tenant_key = '$key'
session_preload_libraries = 'rowkeeper'
});
$node->reload;
my $token = $node->safe_psql('postgres',
    q{SELECT rowkeeper.sign_tenant_token('globex', now() + interval '5 minutes')});

# server connections opened before the reload have re-read the file
($rc, $out, $err) = via_bouncer(q{SET rowkeeper.tenant = 'acme'},
    q{SELECT string_agg(v, ',') FROM t});
isnt($rc, 0, 'token mode: SET rowkeeper.tenant gives no access behind pgbouncer');
like($err, qr/can only be set with rowkeeper.set_tenant_token/, 'it is refused, with the reason');

($rc, $out, $err) = via_bouncer('BEGIN',
    qq{SELECT rowkeeper.set_tenant_token('$token')},
    q{SELECT pg_backend_pid() || ':' || string_agg(v, ',') FROM t},
    'COMMIT');
is($rc, 0, 'token mode: set_tenant_token behind pgbouncer') or diag($err);
my ($pid_token, $rows_token) = split /:/, (split /\n/, $out)[-1];
is($rows_token, 'globex secret', 'the token\'s tenant sees its rows');

($rc, $out, $err) = via_bouncer(
    q{SELECT pg_backend_pid() || ':' || current_setting('rowkeeper.tenant') || ':'});
my ($pid4, $tenant4) = split /:/, $out;
is($pid4, $pid_token, 'on the same server connection');
is($tenant4 // '', '', 'the next client starts without the token\'s tenant');

$bouncer->kill_kill;
$bouncer = undef;
$node->stop;
done_testing();
