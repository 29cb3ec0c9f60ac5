# 004_crash_bulk.pl: kill -9 during an audited bulk UPDATE, in row mode and
# in statement mode.  After crash recovery the audit log holds exactly one
# entry per committed change and none for the killed transaction, and the
# entries agree with the data.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->start;

for my $mode ('row', 'statement')
{
    my $t = "big_$mode";
    $node->safe_psql('postgres', qq{
        CREATE EXTENSION IF NOT EXISTS rowkeeper;
        CREATE TABLE $t (id int PRIMARY KEY, v int NOT NULL);
        SELECT rowkeeper.enable_audit('$t', mode => '$mode');
        INSERT INTO $t SELECT g, 0 FROM generate_series(1, 50000) g;
        UPDATE $t SET v = 10 WHERE id <= 5000;          -- committed
    });

    # a bulk UPDATE of every row, killed before it can commit
    my $bg = $node->background_psql('postgres', on_error_stop => 0);
    my $pid = $bg->query_safe('SELECT pg_backend_pid()');
    $bg->query_safe('BEGIN');
    $bg->query_until(qr/sent/, qq{
\\echo sent
UPDATE $t SET v = v + 1;
});
    usleep(300_000);
    kill 'KILL', $pid;
    eval { $bg->quit; };
    $node->poll_query_until('postgres', 'SELECT true') or die 'no recovery';

    is($node->safe_psql('postgres', "SELECT count(*) || ' ' || sum(v) FROM $t"),
        '50000 50000', "$mode mode: the killed UPDATE left no trace in the data");
    is($node->safe_psql('postgres', qq{
            SELECT string_agg(op || ' ' || n, ', ' ORDER BY op)
              FROM (SELECT op, count(*) AS n FROM rowkeeper.audit_log
                     WHERE table_name = '$t' GROUP BY op) s}),
        'INSERT 50000, UPDATE 5000', "$mode mode: one entry per committed change, none for the killed one");
    is($node->safe_psql('postgres', qq{
            SELECT count(*) FROM rowkeeper.audit_log l JOIN $t b ON b.id = (l.row_key->>'id')::int
             WHERE l.table_name = '$t' AND l.op = 'UPDATE' AND (l.new_row->>'v')::int <> b.v}),
        '0', "$mode mode: every UPDATE entry agrees with the row");
}

$node->stop;
done_testing();
