# 071_replica.pl: rowkeeper on a streaming hot standby, and after promotion.
#  - the standby (a base backup of the primary, streaming) serves the read
#    functions: row_history(), verify_audit_chain(), preflight(),
#    preflight_assert(), audit_chain_head(), audited_tables;
#  - what writes is refused there with the standby's own error (read-only
#    transaction), not a rowkeeper failure: seal_audit_log(), enable_audit();
#  - writes replicated from the primary (auditing on the primary) show up
#    in the standby's history with the primary's entries, none doubled;
#  - once promoted, the former standby audits writes to an audited table,
#    keeps updated_at, and the hash chain seals and verifies across the
#    promotion.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;

$primary->safe_psql('postgres', q{
    CREATE EXTENSION rowkeeper;
    CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int, updated_at timestamptz);
    SELECT rowkeeper.enable_audit('accounts');
    SELECT rowkeeper.enable_updated_at('accounts');
    BEGIN;
    SELECT rowkeeper.set_context(actor => 'alice');
    INSERT INTO accounts VALUES (1, 'alice', 100, NULL), (2, 'bob', 50, NULL);
    COMMIT;
    UPDATE accounts SET balance = 120 WHERE id = 1;
});
$primary->safe_psql('postgres', 'SELECT rowkeeper.seal_audit_log()');

$primary->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

# a change made after the base backup arrives by streaming
$primary->safe_psql('postgres', q{UPDATE accounts SET balance = 130 WHERE id = 1});
$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');

my $history = q{
    SELECT string_agg(op || ' ' || (row_data->>'balance'), ', ' ORDER BY audit_id)
      FROM rowkeeper.row_history('accounts', '{"id": 1}')
};
is($standby->safe_psql('postgres', $history), 'INSERT 100, UPDATE 120, UPDATE 130',
    'row_history() works on the standby, streamed entries included');
is($standby->safe_psql('postgres', $history), $primary->safe_psql('postgres', $history),
    'the standby shows the primary\'s history, no entry doubled');
is($standby->safe_psql('postgres',
        q{SELECT verified || ' ' || coalesce(problem, 'no problem') || ' ' || unsealed FROM rowkeeper.verify_audit_chain()}),
    '3 no problem 1', 'verify_audit_chain() works on the standby (3 sealed, 1 not yet)');
is($standby->safe_psql('postgres', q{SELECT batch FROM rowkeeper.audit_chain_head()}),
    '1', 'audit_chain_head() works on the standby');
is($standby->safe_psql('postgres',
        q{SELECT string_agg(table_name::text, ',') FROM rowkeeper.audited_tables}),
    'accounts', 'the audited_tables view works on the standby');

my $checks = $standby->safe_psql('postgres', q{
    SELECT count(DISTINCT check_name) || ' checks, ' || count(*) FILTER (WHERE status NOT IN ('ok', 'info', 'warn', 'fail')) || ' bad statuses'
      FROM rowkeeper.preflight()});
like($checks, qr/^\d+ checks, 0 bad statuses$/, "preflight() runs on the standby ($checks)");
is($standby->safe_psql('postgres', q{
    SELECT string_agg(check_name || ' ' || status, ', ' ORDER BY check_name)
      FROM rowkeeper.preflight()
     WHERE check_name IN ('coverage.audit', 'coverage.updated_at')}),
    'coverage.audit ok, coverage.updated_at ok', 'and sees the primary\'s configuration');
my ($ret, $out, $err) = $standby->psql('postgres',
    q{SELECT rowkeeper.preflight_assert(ignore => '{settings.%,roles.%,hygiene.%,tenant.%}')});
is($ret, 0, 'preflight_assert() runs on the standby');
like($out, qr/ ok, \d+ warn, 0 fail$/, 'and reports its summary');

# writes are refused by the standby itself, before rowkeeper does anything
($ret, $out, $err) = $standby->psql('postgres', q{SELECT * FROM rowkeeper.seal_audit_log()});
isnt($ret, 0, 'seal_audit_log() cannot run on the standby (it writes the chain)');
like($err, qr/read-only transaction|recovery/, 'the error is the standby\'s read-only one');
($ret, $out, $err) = $standby->psql('postgres', q{UPDATE accounts SET balance = 0});
like($err, qr/read-only transaction/, 'an audited table is read-only on the standby');

# --- promotion ---------------------------------------------------------------
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not leave recovery';

$standby->safe_psql('postgres', q{
    BEGIN;
    SELECT rowkeeper.set_context(actor => 'carol');
    UPDATE accounts SET balance = 140 WHERE id = 1;
    INSERT INTO accounts VALUES (3, 'carol', 10, NULL);
    COMMIT;
});
is($standby->safe_psql('postgres', $history), 'INSERT 100, UPDATE 120, UPDATE 130, UPDATE 140',
    'the promoted standby audits an update');
is($standby->safe_psql('postgres',
        q{SELECT string_agg(op || ' ' || coalesce(actor, '-'), ', ') FROM rowkeeper.row_history('accounts', '{"id": 3}')}),
    'INSERT carol', 'and an insert, with the actor');
is($standby->safe_psql('postgres',
        q{SELECT a.updated_at = (SELECT max(h.logged_at) FROM rowkeeper.row_history('accounts', '{"id": 1}') h)
            FROM accounts a WHERE a.id = 1}),
    't', 'updated_at is maintained after promotion');
is($standby->safe_psql('postgres', q{SELECT entries FROM rowkeeper.seal_audit_log()}),
    '3', 'the promoted standby seals the entries made since the primary\'s last seal');
is($standby->safe_psql('postgres',
        q{SELECT verified || ' ' || coalesce(problem, 'no problem') || ' ' || unsealed FROM rowkeeper.verify_audit_chain()}),
    '6 no problem 0', 'and the chain verifies across the promotion');

$standby->stop;
$primary->stop;
done_testing();
