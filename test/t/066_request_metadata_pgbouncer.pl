# 066_request_metadata_pgbouncer.pl: request metadata (end user's client
# address, user agent, metadata object) set with rowkeeper.set_context()
# behind a real pgbouncer in transaction pooling mode is recorded with
# every audit entry of its transaction (row changes and log_event), and
# never with the next client's transaction on the same server connection.
# The connection's own address (client_addr) is pgbouncer's.
#
# pgbouncer (Debian package) listens on 127.0.0.1 only, on a free port,
# with one server connection; it is stopped at the end.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pgbouncer_bin = '/usr/sbin/pgbouncer';
plan skip_all => "pgbouncer not installed (Debian package pgbouncer)"
  unless -x $pgbouncer_bin;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->append_conf('postgresql.conf', "listen_addresses = '127.0.0.1'");
$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust");
$node->start;

$node->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE ROLE app LOGIN IN ROLE rowkeeper_app;
    CREATE TABLE t (id int PRIMARY KEY, tenant_id text NOT NULL, v text);
    SELECT rowkeeper.enable_audit('t');
    SELECT rowkeeper.enable_tenant_isolation('t');
    GRANT SELECT, INSERT, UPDATE ON t TO app;
});

my $dir = PostgreSQL::Test::Utils::tempdir();
my $bport = PostgreSQL::Test::Cluster::get_free_port();
my $pgport = $node->port;
open my $auth, '>', "$dir/userlist.txt" or die $!;
print $auth qq{"app" ""\n};
close $auth;
open my $ini, '>', "$dir/pgbouncer.ini" or die $!;
# pgbouncer reaches the server over TCP, so the entries' client_addr is
# pgbouncer's address, 127.0.0.1
print $ini <<"EOF";
[databases]
postgres = host=127.0.0.1 port=$pgport dbname=postgres
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

my $up = 0;
for (1 .. 100)
{
    my ($rc) = via_bouncer('SELECT 1');
    if ($rc == 0) { $up = 1; last; }
    select(undef, undef, undef, 0.1);
}
ok($up, 'pgbouncer accepts connections on 127.0.0.1') or diag($berr);

# client 1: a request with metadata; a row change and an event
my ($rc, $out, $err) = via_bouncer('BEGIN',
    q{SELECT rowkeeper.set_context('ann', 'acme', 'req-1', '203.0.113.7', 'Mozilla/5.0 (X11)', '{"session": "s-1", "mfa": true}')},
    q{INSERT INTO t (id, v) VALUES (1, 'one')},
    q{SELECT rowkeeper.log_event('export', 't', '{"id": 1}', '{"rows": 1}')},
    q{SELECT pg_backend_pid()},
    'COMMIT');
is($rc, 0, 'client 1: set_context with metadata, write, event') or diag($err);
my $pid1 = (split /\n/, $out)[-1];

# client 2, same server connection: no metadata of client 1
($rc, $out, $err) = via_bouncer(
    q{SELECT pg_backend_pid() || '|' || current_setting('rowkeeper.client_addr') || '|' || current_setting('rowkeeper.user_agent') || '|' || current_setting('rowkeeper.metadata') || '|'});
is($rc, 0, 'client 2 connects') or diag($err);
is($out, "$pid1||||", 'client 2 runs on the same server connection and starts with empty request metadata');

# client 3: a write with only a tenant records no request metadata
($rc, $out, $err) = via_bouncer('BEGIN',
    q{SELECT rowkeeper.set_context(tenant => 'acme')},
    q{UPDATE t SET v = 'uno' WHERE id = 1},
    q{SELECT pg_backend_pid()},
    'COMMIT');
is($rc, 0, 'client 3 writes') or diag($err);
is((split /\n/, $out)[-1], $pid1, 'client 3 runs on the same server connection');

# client 4: a request that sets metadata and disconnects without COMMIT
($rc, $out, $err) = via_bouncer('BEGIN',
    q{SELECT rowkeeper.set_context(tenant => 'acme', user_agent => 'leaky/1.0')});
($rc, $out, $err) = via_bouncer('BEGIN',
    q{SELECT rowkeeper.set_context(tenant => 'acme')},
    q{UPDATE t SET v = 'eins' WHERE id = 1},
    'COMMIT');
is($rc, 0, 'client 5 writes after an abandoned transaction') or diag($err);

# what the log holds, read back through the application role's own view
($rc, $out, $err) = via_bouncer('BEGIN',
    q{SELECT rowkeeper.set_context(tenant => 'acme')},
    q{SELECT string_agg(concat_ws(',', op, host(request_addr), user_agent, metadata::text, host(client_addr)), E'\n' ORDER BY id) FROM rowkeeper.audit_log},
    'COMMIT');
is($rc, 0, 'entries read back through pgbouncer') or diag($err);
$out =~ s/^\n+//;     # set_context's empty row
is($out, join("\n",
    'INSERT,203.0.113.7,Mozilla/5.0 (X11),{"mfa": true, "session": "s-1"},127.0.0.1',
    'EVENT,203.0.113.7,Mozilla/5.0 (X11),{"mfa": true, "session": "s-1"},127.0.0.1',
    'UPDATE,127.0.0.1',
    'UPDATE,127.0.0.1'),
  'metadata recorded with both entries of its transaction, none with later clients; client_addr is pgbouncer\'s');

# covered by the hash chain
is($node->safe_psql('postgres', q{SELECT entries FROM rowkeeper.seal_audit_log()}), '4', 'sealed');
is($node->safe_psql('postgres', q{SELECT verified || ':' || coalesce(problem, '') FROM rowkeeper.verify_audit_chain()}),
   '4:', 'chain verifies');
is($node->safe_psql('postgres', q{
    BEGIN;
    UPDATE rowkeeper.audit_log SET user_agent = 'other' WHERE op = 'INSERT';
    SELECT problem IS NOT NULL FROM rowkeeper.verify_audit_chain();
    ROLLBACK;}), 't', 'an edited user agent is detected');

$bouncer->kill_kill;
$bouncer = undef;
$node->stop;
done_testing();
