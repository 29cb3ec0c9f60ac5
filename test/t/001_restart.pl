# 001_restart.pl: rowkeeper's triggers and context keep working across a
# clean restart, a crash (immediate stop + recovery) and a switch to
# shared_preload_libraries; after a crash the audit log holds exactly the
# committed changes.
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
    CREATE TABLE t (id int PRIMARY KEY, v int, "updatedAt" timestamp(3));
    INSERT INTO t VALUES (1, 0, '2000-01-01');
    SELECT rowkeeper.enable_updated_at('t', 'updatedAt');
    SELECT rowkeeper.enable_audit('t');
});

# Audit entries for t, and whether they match the committed value of v.
sub audit_matches
{
    return $node->safe_psql('postgres', q{
        SELECT count(*) || ':' || ((SELECT v FROM t) =
               coalesce((SELECT (new_row->>'v')::int FROM rowkeeper.audit_log
                          WHERE table_name = 't' AND op = 'UPDATE'
                          ORDER BY id DESC LIMIT 1), 0))
          FROM rowkeeper.audit_log WHERE table_name = 't' AND op = 'UPDATE'
    });
}

# UPDATE in a transaction and report whether the row was stamped with now().
sub stamped
{
    return $node->safe_psql('postgres', q{
        BEGIN;
        UPDATE t SET v = v + 1;
        SELECT "updatedAt" = now()::timestamp(3) FROM t;
        COMMIT;
    });
}

is(stamped(), 't', 'stamped before any restart');

$node->restart;
is(stamped(), 't', 'stamped after a clean restart');

# A crash: uncommitted work is gone, the trigger survives recovery.
$node->safe_psql('postgres', 'CHECKPOINT');
my $bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_safe('BEGIN');
$bg->query_safe('UPDATE t SET v = 1000');
$node->stop('immediate');
eval { $bg->quit; };
$node->start;
is($node->safe_psql('postgres', 'SELECT v < 1000 FROM t'), 't',
    'uncommitted update rolled back by crash recovery');
is(audit_matches(), '2:true',
    'audit log after the crash: one entry per committed update, none for the lost one');
is(stamped(), 't', 'stamped after crash recovery');

# Preloaded: settings from postgresql.conf are honoured, typos reported.
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'rowkeeper'
rowkeeper.request_id = 'from-config'
});
$node->restart;
is($node->safe_psql('postgres', 'SELECT rowkeeper.current_request_id()'),
    'from-config', 'GUC from postgresql.conf with the library preloaded');
is($node->safe_psql('postgres', q{
    BEGIN;
    SELECT rowkeeper.set_context('alice', 't1', 'req-1');
    SELECT rowkeeper.current_actor() || '/' || current_setting('rowkeeper.tenant')
           || '/' || rowkeeper.current_request_id();
    COMMIT;
}), "\nalice/t1/req-1", 'set_context with the library preloaded');
is($node->safe_psql('postgres', 'SELECT rowkeeper.current_request_id()'),
    'from-config', 'configured value back after the transaction');
is(stamped(), 't', 'stamped with the library preloaded');
is(audit_matches(), '4:true', 'audited with the library preloaded');

$node->stop;
done_testing();
