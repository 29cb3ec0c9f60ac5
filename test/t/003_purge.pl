# 003_purge.pl: purge jobs where timing, crashes and the scheduler matter.
#  - a purge gives up on a table lock the application holds (lock_timeout, a
#    few retries, outcome "stopped: lock timeout") instead of queueing behind
#    it;
#  - a batch that waits lock_timeout for a row the application holds is
#    retried with SKIP LOCKED: the run finishes, the row stays;
#  - a purge killed mid-way (kill -9 of its backend) leaves whole committed
#    batches only, its record says how far it got, and the next run marks
#    it interrupted and finishes the job;
#  - pg_cron runs the documented job (the CALL as the job's only statement)
#    and the run is recorded; a job purging a table whose owner's trigger
#    runs RESET ROLE does not hand the owner the job's superuser rights.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('purge');
$node->init;
# pg_cron must be installed for this server (Debian: postgresql-NN-cron; a
# server built from source: pg_cron built with its pg_config, as
# ../shared/postgres/build.sh does).  Without it the node cannot start, and
# the framework would bail out of every TAP test after this one.
my $pkglibdir = $node->config_data('--pkglibdir');
-e "$pkglibdir/pg_cron.so"
  or die "pg_cron is not installed for this server: no $pkglibdir/pg_cron.so";
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
restart_after_crash = on
});
$node->start;

$node->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE TABLE tok (id int PRIMARY KEY, expires_at timestamptz NOT NULL);
    CREATE INDEX ON tok (expires_at);
    INSERT INTO tok SELECT g, now() - interval '1 day' FROM generate_series(1, 2000) g;
});

# --- lock timeout: the application holds a SHARE lock ----------------------
my $app = $node->background_psql('postgres');
$app->query_safe('BEGIN');
$app->query_safe('LOCK TABLE tok IN SHARE MODE');
my ($ret, $stdout, $stderr) = $node->psql('postgres',
    q{CALL rowkeeper.purge_expired('tok', 'expires_at', lock_timeout => '20ms', pause => '10ms')},
    timeout => 60);
is($ret, 0, 'purge returns while the application holds its lock');
is($node->safe_psql('postgres',
        q{SELECT outcome || ' ' || lock_retries || ' ' || rows_deleted FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1}),
    'stopped: lock timeout 11 0',
    'it retried (once without row locks, then 10 times with SKIP LOCKED), then stopped without deleting');
$app->query_safe('COMMIT');
$app->quit;

# --- kill -9 mid-run ---------------------------------------------------------
my $job = $node->background_psql('postgres', on_error_stop => 0);
$job->query_until(qr/started/, q{
\echo started
CALL rowkeeper.purge_expired('tok', 'expires_at', batch_size => 100, pause => '300ms');
});
$node->poll_query_until('postgres',
    q{SELECT batches >= 3 FROM rowkeeper.purge_runs WHERE outcome = 'running' ORDER BY id DESC LIMIT 1})
  or die 'the purge did not get going';
my $pid = $node->safe_psql('postgres',
    q{SELECT backend_pid FROM rowkeeper.purge_runs WHERE outcome = 'running' ORDER BY id DESC LIMIT 1});
kill 'KILL', $pid;
eval { $job->quit; };
$node->poll_query_until('postgres', 'SELECT true') or die 'no recovery';

my $recorded = $node->safe_psql('postgres',
    q{SELECT rows_deleted FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1});
my $gone = 2000 - $node->safe_psql('postgres', 'SELECT count(*) FROM tok');
is($gone, $recorded, "only whole committed batches are gone, as recorded ($gone rows)");
is($gone % 100, 0, 'no half batch');

$node->safe_psql('postgres', q{CALL rowkeeper.purge_expired('tok', 'expires_at', batch_size => 500)});
is($node->safe_psql('postgres',
        q{SELECT string_agg(outcome, ', ' ORDER BY id) FROM rowkeeper.purge_runs WHERE id > 1}),
    'interrupted, done', 'the killed run is marked interrupted, the next one finishes');
is($node->safe_psql('postgres', 'SELECT count(*) FROM tok'), '0', 'every expired row is gone');

# --- lock timeout: the application holds a row --------------------------------
$node->safe_psql('postgres',
    q{INSERT INTO tok SELECT g, now() - interval '1 day' FROM generate_series(1, 2000) g});
$app = $node->background_psql('postgres');
$app->query_safe('BEGIN');
$app->query_safe(q{UPDATE tok SET expires_at = now() + interval '1 day' WHERE id = 1});
($ret, $stdout, $stderr) = $node->psql('postgres',
    q{CALL rowkeeper.purge_expired('tok', 'expires_at', lock_timeout => '20ms')},
    timeout => 60);
is($ret, 0, 'purge returns while the application holds a row');
is($node->safe_psql('postgres',
        q{SELECT outcome || ' ' || lock_retries || ' ' || rows_deleted FROM rowkeeper.purge_runs ORDER BY id DESC LIMIT 1}),
    'done 1 1999', 'the batch that met the row was retried skipping it; the others went');
$app->query_safe('COMMIT');
$app->quit;
is($node->safe_psql('postgres', q{SELECT string_agg(id || ' ' || (expires_at > now()), ',') FROM tok}),
    '1 true', 'the restored row is kept');
$node->safe_psql('postgres', 'TRUNCATE tok');

# --- pg_cron -----------------------------------------------------------------
# Two jobs in the same minute: the documented one, and one purging a table
# whose (non-superuser) owner's trigger tries RESET ROLE to take the
# superuser rights of the job (issue 20, finding 1): the batch runs as the
# owner in a security-restricted operation, so RESET ROLE fails and the
# role stays what it was.
$node->safe_psql('postgres', q{
    INSERT INTO tok SELECT g, now() - interval '1 day' FROM generate_series(1, 50) g;
    CREATE ROLE cron_owner;
    CREATE TABLE cron_evil (id int PRIMARY KEY, expires_at timestamptz NOT NULL);
    CREATE INDEX ON cron_evil (expires_at);
    INSERT INTO cron_evil SELECT g, now() - interval '1 day' FROM generate_series(1, 5) g;
    CREATE FUNCTION cron_escalate() RETURNS trigger LANGUAGE plpgsql AS
    $f$ BEGIN RESET ROLE; ALTER ROLE cron_owner SUPERUSER; RETURN OLD; END $f$;
    ALTER FUNCTION cron_escalate() OWNER TO cron_owner;
    CREATE TRIGGER escalate BEFORE DELETE ON cron_evil FOR EACH ROW EXECUTE FUNCTION cron_escalate();
    ALTER TABLE cron_evil OWNER TO cron_owner;
    CREATE EXTENSION pg_cron;
    SELECT cron.schedule('purge-tok', '* * * * *',
                         $$CALL rowkeeper.purge_expired('tok', 'expires_at')$$);
    SELECT cron.schedule('purge-evil', '* * * * *',
                         $$CALL rowkeeper.purge_expired('cron_evil', 'expires_at')$$);
});
$node->poll_query_until('postgres',
    q{SELECT count(DISTINCT jobid) = 2 FROM cron.job_run_details WHERE status IN ('succeeded', 'failed')}, 't')
  or die 'pg_cron never ran the jobs';
is($node->safe_psql('postgres',
        q{SELECT d.status || ' ' || coalesce(d.return_message, '') FROM cron.job_run_details d
           JOIN cron.job j USING (jobid) WHERE j.jobname = 'purge-tok' ORDER BY d.runid LIMIT 1}),
    'succeeded CALL', 'pg_cron ran the CALL');
is($node->safe_psql('postgres',
        q{SELECT outcome || ' ' || rows_deleted FROM rowkeeper.purge_runs
           WHERE target = 'public.tok' ORDER BY id DESC LIMIT 1}),
    'done 50', 'the scheduled purge is recorded');
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'cron_owner'}),
    'f', "the owner's trigger did not make its owner superuser through the job");
like($node->safe_psql('postgres',
        q{SELECT d.status || ' ' || coalesce(d.return_message, '') FROM cron.job_run_details d
           JOIN cron.job j USING (jobid) WHERE j.jobname = 'purge-evil' ORDER BY d.runid LIMIT 1}),
    qr/^failed .*cannot set parameter "role"/, 'the job failed on RESET ROLE');
is($node->safe_psql('postgres',
        q{SELECT outcome || ' ' || rows_deleted || ' ' || (SELECT count(*) FROM cron_evil)
            FROM rowkeeper.purge_runs WHERE target = 'public.cron_evil' ORDER BY id DESC LIMIT 1}),
    'failed 0 5', 'the failed run is recorded and deleted nothing');

$node->stop;
done_testing();
