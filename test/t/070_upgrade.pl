# 070_upgrade.pl: ALTER EXTENSION rowkeeper UPDATE from every released
# version gives the same extension as a fresh install, and keeps the data.
#  - database "fresh": CREATE EXTENSION rowkeeper (the default version),
#    the same user tables made with the current API;
#  - database "from_0_1_0": CREATE EXTENSION rowkeeper VERSION '0.1.0', an
#    audited table with updated_at and history written as 0.1.0 wrote it,
#    ALTER EXTENSION UPDATE TO '0.2.0', the 0.2.0 data below, then ALTER
#    EXTENSION UPDATE to the default version;
#  - database "from_0_2_0": CREATE EXTENSION rowkeeper VERSION '0.2.0', the
#    same audited table, the 0.2.0 data, ALTER EXTENSION UPDATE.
#  The 0.2.0 data, in 0.2.0's own shape: log entries with 0.2.0's columns
#  (no table_id, row_ref of 0.2.0's formula), a tenant-isolated table, a
#  purge run record, and a soft-delete table as 0.2.0 made it (a view
#  "accounts" in front of the table "accounts_with_deleted", a grant on the
#  view, live and deleted rows).  Only today's library is built: the old
#  scripts install against it (compat_symbols.c keeps the C entry points
#  they name), and what the old library wrote is written by hand.
#  Compared, each upgraded database with the fresh one: every member object
#  of the extension, every function of schema rowkeeper (definition,
#  settings, security, volatility, ACL), relations (kind, ACL, RLS), their
#  columns, indexes, constraints, policies, views, sequences, comments,
#  event triggers, configuration tables; and the user tables' triggers,
#  policies, grants, columns and comments.  Then, after the upgrade: the
#  history logged before it is found, the hash chain seals and verifies
#  entries from both sides of it, tenant isolation fails closed, and soft
#  delete works on the converted table (DELETE marks, deleted rows hidden,
#  restore brings back a row deleted under 0.2.0).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my @versions = split /\n/, $node->safe_psql('postgres',
    q{SELECT version FROM pg_available_extension_versions WHERE name = 'rowkeeper' ORDER BY version});
my $default = $node->safe_psql('postgres',
    q{SELECT default_version FROM pg_available_extensions WHERE name = 'rowkeeper'});
is($versions[0], '0.1.0', 'the oldest released version is 0.1.0');
is_deeply([ grep { $_ ne $default } @versions ], [ '0.1.0', '0.2.0' ],
    "the released versions before $default are 0.1.0 and 0.2.0");

# Roles are shared by the cluster: the application role of every database.
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');

my $items = q{
    CREATE TABLE items (id int PRIMARY KEY, name text, updated_at timestamptz);
    SELECT rowkeeper.enable_audit('items');
    SELECT rowkeeper.enable_updated_at('items');
};
my $tenant_table = q{
    CREATE TABLE notes (id int PRIMARY KEY, tenant_id int NOT NULL, body text);
    GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO app;
    SELECT rowkeeper.enable_tenant_isolation('notes', 'tenant_id');
    INSERT INTO notes VALUES (1, 1, 'of tenant 1'), (2, 2, 'of tenant 2');
};
my $accounts = q{
    CREATE TABLE accounts (id int PRIMARY KEY, name text, deleted_at timestamptz, deleted_batch bigint);
    GRANT SELECT ON accounts TO app;
};

for my $db (qw(fresh from_0_1_0 from_0_2_0)) {
    $node->safe_psql('postgres', "CREATE DATABASE $db");
}

# --- fresh: the current version, the same tables through the current API ---
$node->safe_psql('fresh', qq{
    CREATE EXTENSION rowkeeper;
    $items
    $tenant_table
    $accounts
    SELECT rowkeeper.enable_soft_delete('accounts');
    GRANT DELETE ON accounts TO app;
    CREATE TABLE entries (id int PRIMARY KEY, account_id int REFERENCES accounts (id));
});

# --- 0.1.0 data ---------------------------------------------------------------
# The entries the 0.1.0 library wrote, written by hand the way it wrote
# them (0.1.0 columns; INSERT: the row, UPDATE: changed columns, DELETE: the
# old row), in the transaction of each change.
my $history_010 = q{
    ALTER TABLE items DISABLE TRIGGER rowkeeper_audit;
    BEGIN;
    INSERT INTO items VALUES (1, 'one', NULL), (2, 'two', NULL);
    INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op, row_key,
                                     new_row, db_user, role_user, session_user_name)
    SELECT now(), pg_current_xact_id(), 'items'::regclass, 'public', 'items', 'INSERT',
           jsonb_build_object('id', i.id), to_jsonb(i), current_user, current_user, session_user
      FROM items i ORDER BY i.id;
    COMMIT;
    BEGIN;
    UPDATE items SET name = 'uno' WHERE id = 1;
    INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op, row_key,
                                     old_row, new_row, db_user, role_user, session_user_name)
    VALUES (now(), pg_current_xact_id(), 'items'::regclass, 'public', 'items', 'UPDATE', '{"id": 1}',
            '{"name": "one"}', '{"name": "uno"}', current_user, current_user, session_user);
    COMMIT;
    WITH d AS (DELETE FROM items WHERE id = 2 RETURNING *)
    INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op, row_key,
                                     old_row, db_user, role_user, session_user_name)
    SELECT now(), pg_current_xact_id(), 'items'::regclass, 'public', 'items', 'DELETE', '{"id": 2}',
           to_jsonb(d), current_user, current_user, session_user FROM d;
    ALTER TABLE items ENABLE TRIGGER rowkeeper_audit;
};

$node->safe_psql('from_0_1_0', qq{
    CREATE EXTENSION rowkeeper VERSION '0.1.0';
    $items
    $history_010
});

# Between installing the new package and ALTER EXTENSION UPDATE, the new
# library runs against the old objects: the audit trigger writes the
# columns the old log has (0.1.0 has no row_ref) and goes on auditing.
my ($ret, $out, $err) = $node->psql('from_0_1_0',
    q{INSERT INTO items VALUES (3, 'three', NULL); DELETE FROM items WHERE id = 3;});
is($err, '', 'an audited write under 0.1.0 succeeds with the new library');
is($node->safe_psql('from_0_1_0',
        q{SELECT string_agg(op, ', ' ORDER BY id) FROM rowkeeper.audit_log WHERE row_key = '{"id": 3}'}),
    'INSERT, DELETE', 'and is audited into the old log');
my $old_updated_at = $node->safe_psql('from_0_1_0', 'SELECT updated_at FROM items WHERE id = 1');
isnt($old_updated_at, '', 'updated_at is maintained under 0.1.0');

$node->safe_psql('from_0_1_0', q{ALTER EXTENSION rowkeeper UPDATE TO '0.2.0'});

# --- 0.2.0 data ---------------------------------------------------------------
# Entries as the 0.2.0 library wrote them: 0.2.0's columns, row_ref of its
# own formula (from the names; 42 stands for it: the upgrade recomputes
# every row_ref from the table id).
my $history_020 = q{
    ALTER TABLE items DISABLE TRIGGER rowkeeper_audit;
    BEGIN;
    UPDATE items SET name = 'un' WHERE id = 1;
    INSERT INTO rowkeeper.audit_log (logged_at, txid, table_oid, schema_name, table_name, op, row_key,
                                     old_row, new_row, db_user, role_user, session_user_name, row_ref)
    VALUES (now(), pg_current_xact_id(), 'items'::regclass, 'public', 'items', 'UPDATE', '{"id": 1}',
            jsonb_build_object('name', CASE WHEN EXISTS (SELECT FROM rowkeeper.audit_log WHERE new_row->>'name' = 'uno')
                                            THEN 'uno' ELSE 'one' END),
            '{"name": "un"}', current_user, current_user, session_user, 42);
    COMMIT;
    ALTER TABLE items ENABLE TRIGGER rowkeeper_audit;
};
# The soft-delete table as 0.2.0 made it: enable_soft_delete renamed it to
# accounts_with_deleted and put the view accounts in front (the grant on
# the table was copied to the view); DELETE was granted on the view.  The
# marks of a row deleted under 0.2.0 are written by hand (today's library
# refuses the view's INSTEAD OF trigger).
my $data_020 = qq{
    $tenant_table
    $accounts
    SELECT rowkeeper.enable_soft_delete('accounts');
    GRANT DELETE ON accounts TO app;
    CREATE TABLE entries (id int PRIMARY KEY, account_id int REFERENCES accounts_with_deleted (id));
    INSERT INTO accounts (id, name) VALUES (1, 'live'), (2, 'deleted under 0.2.0'), (3, 'to delete');
    UPDATE accounts_with_deleted
       SET deleted_at = now() - interval '1 day', deleted_batch = nextval('rowkeeper.soft_delete_batch_seq')
     WHERE id = 2;
    SELECT rowkeeper._purge_run_update(rowkeeper._purge_run_start('soft_deleted', 'accounts', now(), '{}'),
                                       0, 0, 0, 'done');
};
$node->safe_psql('from_0_1_0', $data_020 . $history_020);

$node->safe_psql('from_0_2_0', qq{
    CREATE EXTENSION rowkeeper VERSION '0.2.0';
    $items
    INSERT INTO items VALUES (1, 'one', NULL), (2, 'two', NULL);
    DELETE FROM items WHERE id = 2;
    $data_020
    $history_020
});
is($node->safe_psql('from_0_2_0', q{SELECT relkind FROM pg_class WHERE relname = 'accounts'}),
    'v', 'under 0.2.0 the soft-delete table is a view in front of accounts_with_deleted');
# A batch sealed under 0.2.0 (its v1 digests cover 0.2.0's columns, row_ref
# as 0.2.0 computed it): 0.2.0's seal_audit_log() runs with the new library.
is($node->safe_psql('from_0_2_0', q{SELECT entries FROM rowkeeper.seal_audit_log()}),
    '4', 'a batch is sealed under 0.2.0');

# A 0.2.0 function whose C entry point 0.3.0 binds under another name
# (compat_symbols.c) still computes what it did: 0.2.0's row_ref, the
# names' hash above the key's bits, not the key read as another type.
is($node->safe_psql('from_0_2_0',
        q{SELECT (rowkeeper.row_ref('public', 'items', '{"id": 7}') & 4294967295)
                 || ' ' || (rowkeeper.row_ref('public', 'items', '{"id": 7}') >> 32
                            <> rowkeeper.row_ref('public', 'other', '{"id": 7}') >> 32)}),
    '7 true', 'row_ref(text, text, jsonb) of 0.2.0 works with the new library');

for my $db (qw(from_0_1_0 from_0_2_0)) {
    $node->safe_psql($db, 'ALTER EXTENSION rowkeeper UPDATE');
    is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'rowkeeper'}),
        $default, "$db: ALTER EXTENSION UPDATE reached $default");
}

# --- the extension itself: upgraded == fresh ----------------------------------
my $members = q{(SELECT classid, objid FROM pg_depend
                  WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
                    AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'rowkeeper'))};
my $rk_rels = q{(SELECT oid FROM pg_class WHERE relnamespace = 'rowkeeper'::regnamespace)};
my $user_rels = q{(SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)};
my %compare = (
    'member objects' => qq{
        SELECT pg_describe_object(classid, objid, 0) FROM $members m ORDER BY 1},
    'function definitions, settings, security, ACLs' => q{
        SELECT p.oid::regprocedure::text, p.prokind, p.provolatile, p.proparallel, p.proisstrict,
               p.prosecdef, p.proleakproof, p.procost, p.prorows, p.proconfig, p.proacl,
               pg_get_userbyid(p.proowner), md5(pg_get_functiondef(p.oid))
          FROM pg_proc p
         WHERE p.pronamespace = 'rowkeeper'::regnamespace
         ORDER BY 1},
    'relation kinds, ACLs and row-level security' => q{
        SELECT c.relname, c.relkind, c.relacl, c.relrowsecurity, c.relforcerowsecurity, c.relpersistence,
               c.reloptions, pg_get_userbyid(c.relowner)
          FROM pg_class c
         WHERE c.relnamespace = 'rowkeeper'::regnamespace
         ORDER BY 1},
    'schema ACL' => q{SELECT nspacl, pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = 'rowkeeper'},
    'columns of rowkeeper tables and views' => qq{
        SELECT a.attrelid::regclass::text, row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
               a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity,
               a.attgenerated, a.attacl, pg_get_expr(d.adbin, d.adrelid)
          FROM pg_attribute a
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid IN $rk_rels AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY 1, 2},
    'indexes of rowkeeper tables' => qq{
        SELECT i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid), i.indisvalid
          FROM pg_index i
         WHERE i.indrelid IN $rk_rels
         ORDER BY 1, 2},
    'constraints of rowkeeper tables' => q{
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
          FROM pg_constraint
         WHERE connamespace = 'rowkeeper'::regnamespace
         ORDER BY 1, 2},
    'policies on rowkeeper tables' => qq{
        SELECT polrelid::regclass::text, polname, polcmd, polpermissive, polroles::regrole[]::text,
               pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid)
          FROM pg_policy
         WHERE polrelid IN $rk_rels
         ORDER BY 1, 2},
    'triggers on rowkeeper tables' => qq{
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid), tgenabled
          FROM pg_trigger
         WHERE tgrelid IN $rk_rels AND NOT tgisinternal
         ORDER BY 1, 2},
    'views' => q{
        SELECT c.oid::regclass::text, md5(pg_get_viewdef(c.oid))
          FROM pg_class c
         WHERE c.relnamespace = 'rowkeeper'::regnamespace AND c.relkind = 'v'
         ORDER BY 1},
    'sequences' => q{
        SELECT seqrelid::regclass::text, format_type(seqtypid, NULL), seqincrement, seqmin, seqmax,
               seqcache, seqcycle
          FROM pg_sequence
         WHERE seqrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'rowkeeper'::regnamespace)
         ORDER BY 1},
    'comments on the extension\'s objects' => qq{
        SELECT pg_describe_object(d.classoid, d.objoid, d.objsubid), md5(d.description)
          FROM pg_description d
         WHERE (d.classoid, d.objoid) IN $members
            OR (d.classoid = 'pg_policy'::regclass
                AND d.objoid IN (SELECT oid FROM pg_policy WHERE polrelid IN $rk_rels))
         ORDER BY 1},
    'event triggers' => q{
        SELECT evtname, evtevent, evtfoid::regprocedure::text, evtenabled, evttags
          FROM pg_event_trigger
         ORDER BY 1},
    'configuration tables dumped' => q{
        SELECT c::regclass::text, w
          FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, w)
         WHERE e.extname = 'rowkeeper'
         ORDER BY 1},
    # the user's tables made before the upgrade: what rowkeeper put on them
    'user tables: kinds, grants, row-level security, comments' => qq{
        SELECT c.relname, c.relkind, c.relacl, c.relrowsecurity, c.relforcerowsecurity,
               obj_description(c.oid, 'pg_class')
          FROM pg_class c
         WHERE c.oid IN $user_rels AND c.relkind IN ('r', 'p', 'v')
         ORDER BY 1},
    'user tables: columns and defaults' => qq{
        SELECT a.attrelid::regclass::text, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, pg_get_expr(d.adbin, d.adrelid)
          FROM pg_attribute a
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid IN $user_rels AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY 1, 2},
    'user tables: triggers' => qq{
        SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid), tgenabled,
               obj_description(oid, 'pg_trigger') IS NOT NULL
          FROM pg_trigger
         WHERE tgrelid IN $user_rels AND NOT tgisinternal
         ORDER BY 1, 2},
    'user tables: policies' => qq{
        SELECT polrelid::regclass::text, polname, polcmd, polpermissive, polroles::regrole[]::text,
               pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid),
               obj_description(oid, 'pg_policy')
          FROM pg_policy
         WHERE polrelid IN $user_rels
         ORDER BY 1, 2},
    'user tables: indexes' => qq{
        SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid IN $user_rels ORDER BY 1},
);
for my $db (qw(from_0_1_0 from_0_2_0)) {
    for my $what (sort keys %compare) {
        my $fresh    = $node->safe_psql('fresh', $compare{$what});
        my $upgraded = $node->safe_psql($db, $compare{$what});
        isnt($fresh, '', "$what: found in the fresh install")
            if $db eq 'from_0_1_0' && $what ne 'triggers on rowkeeper tables';   # none, none expected
        is($upgraded, $fresh, "$db: $what: the upgraded install has the same");
    }
}

# the comparison is not blind: a difference on one side only is caught
for my $change (
    [ 'function definitions, settings, security, ACLs',
      'GRANT EXECUTE ON FUNCTION rowkeeper.seal_audit_log() TO PUBLIC',
      'REVOKE EXECUTE ON FUNCTION rowkeeper.seal_audit_log() FROM PUBLIC' ],
    [ 'function definitions, settings, security, ACLs',
      q{CREATE OR REPLACE FUNCTION rowkeeper._quote_args(args text[]) RETURNS text LANGUAGE sql
            IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
            AS $$ SELECT pg_catalog.array_to_string(args, ', ') $$},
      undef ],
    [ 'member objects',
      q{CREATE FUNCTION rowkeeper.stale() RETURNS int LANGUAGE sql AS 'SELECT 1';
        ALTER EXTENSION rowkeeper ADD FUNCTION rowkeeper.stale()},
      q{ALTER EXTENSION rowkeeper DROP FUNCTION rowkeeper.stale(); DROP FUNCTION rowkeeper.stale()} ],
    [ 'relation kinds, ACLs and row-level security',
      'GRANT SELECT ON rowkeeper.audit_log TO PUBLIC',
      'REVOKE SELECT ON rowkeeper.audit_log FROM PUBLIC' ],
    [ 'policies on rowkeeper tables',
      'ALTER POLICY audit_log_auditor ON rowkeeper.audit_log USING (false)',
      'ALTER POLICY audit_log_auditor ON rowkeeper.audit_log USING (true)' ],
    [ 'user tables: policies',
      q{ALTER POLICY rowkeeper_tenant_access ON notes USING (true) WITH CHECK (true)}, undef ],
    ) {
    my ($what, $do, $undo) = @$change;
    my $db = 'from_0_2_0';
    my $before = $node->safe_psql($db, $compare{$what});
    my $after  = $node->safe_psql($db, "BEGIN;\n$do;\n$compare{$what};\nROLLBACK;");
    isnt($after, $before, "$what: a change on one side only is a difference ($do)");
}

# --- the data logged before the upgrade ------------------------------------
my $history = q{
    SELECT string_agg(op || ' ' || coalesce(row_data->>'name', '-'), ', ' ORDER BY audit_id)
      FROM rowkeeper.row_history('items', '{"id": 1}')
};
is($node->safe_psql('from_0_1_0', $history), 'INSERT one, UPDATE uno, UPDATE un',
    'from_0_1_0: row_history() finds what 0.1.0 and 0.2.0 logged');
is($node->safe_psql('from_0_2_0', $history), 'INSERT one, UPDATE un',
    'from_0_2_0: row_history() finds what 0.2.0 logged');
for my $db (qw(from_0_1_0 from_0_2_0)) {
    is($node->safe_psql($db,
            q{SELECT string_agg(op, ', ' ORDER BY audit_id) FROM rowkeeper.row_history('items', '{"id": 2}')}),
        'INSERT, DELETE', "$db: and the history of a row deleted before the upgrade");
    is($node->safe_psql($db,
            q{SELECT count(*) FROM rowkeeper.audit_log
               WHERE table_id IS NULL OR row_ref IS DISTINCT FROM rowkeeper.row_ref(table_id, row_key)}),
        '0', "$db: every entry has its table id and the row_ref of it");
    $node->safe_psql($db, q{UPDATE items SET name = 'eins' WHERE id = 1});
    like($node->safe_psql($db, $history), qr/, UPDATE eins$/, "$db: auditing continues after the upgrade");
    is($node->safe_psql($db,
            q{SELECT row_data->>'name' FROM rowkeeper.row_history('items', '{"id": 1}') ORDER BY audit_id LIMIT 1}),
        'one', "$db: row images are rebuilt across the upgrade");
}
is($node->safe_psql('from_0_1_0',
        qq{SELECT updated_at > '$old_updated_at' FROM items WHERE id = 1}),
    't', 'updated_at set under 0.1.0 is still maintained');

# the hash chain covers entries from before and after the upgrade
# from_0_1_0: 4 written by hand for 0.1.0, 2 by the new library under 0.1.0,
# 1 by hand for 0.2.0, 1 after the upgrade, all sealed after it;
# from_0_2_0: 3 by the new library under 0.2.0 and 1 by hand, sealed under
# 0.2.0 (v1, though the upgrade gave them a table id and recomputed their
# row_ref), and 1 after the upgrade, sealed after it (v2)
for my $case ([ 'from_0_1_0', 8, 8 ], [ 'from_0_2_0', 1, 5 ]) {
    my ($db, $sealed, $n) = @$case;
    is($node->safe_psql($db, q{SELECT entries FROM rowkeeper.seal_audit_log()}),
        $sealed, "$db: seal_audit_log() seals the entries not sealed yet");
    is($node->safe_psql($db,
            q{SELECT verified || ' ' || coalesce(problem, 'no problem') FROM rowkeeper.verify_audit_chain()}),
        "$n no problem", "$db: verify_audit_chain() verifies the entries from both sides of the upgrade");
}
is($node->safe_psql('from_0_2_0', q{SELECT string_agg((salts IS NULL)::text, ', ' ORDER BY batch) FROM rowkeeper.audit_seal}),
    'true, false', 'from_0_2_0: the batch sealed under 0.2.0 is v1, the new one v2');
$node->safe_psql('from_0_2_0', q{UPDATE rowkeeper.audit_log SET table_name = 'other' WHERE id = (SELECT min(id) FROM rowkeeper.audit_log)});
like($node->safe_psql('from_0_2_0', q{SELECT problem FROM rowkeeper.verify_audit_chain()}),
    qr/does not match its sealed digest/, 'from_0_2_0: an edit of an entry sealed under 0.2.0 is still caught');

# --- tenant isolation and soft delete on tables made under 0.2.0 -----------
for my $db (qw(from_0_1_0 from_0_2_0)) {
    ($ret, $out, $err) = $node->psql($db, q{SET ROLE app; SELECT count(*) FROM notes});
    like($err, qr/ERROR/, "$db: tenant isolation fails closed: no tenant, no rows but an error");
    is($node->safe_psql($db,
            q{BEGIN; SET LOCAL ROLE app; SELECT rowkeeper.set_context(tenant => '2'); SELECT string_agg(body, ', ') FROM notes; COMMIT}),
        "\nof tenant 2", "$db: a tenant sees its own rows only");
    ($ret, $out, $err) = $node->psql($db,
        q{BEGIN; SET LOCAL ROLE app; SELECT rowkeeper.set_context(tenant => '2'); INSERT INTO notes VALUES (3, 1, 'x'); COMMIT});
    like($err, qr/row-level security/, "$db: and cannot write another tenant's");

    is($node->safe_psql($db, q{SELECT relkind FROM pg_class WHERE relname = 'accounts'}),
        'r', "$db: accounts is a table again");
    is($node->safe_psql($db, q{SELECT count(*) FROM pg_class WHERE relname = 'accounts_with_deleted'}),
        '0', "$db: accounts_with_deleted is gone (renamed back)");
    is($node->safe_psql($db, q{SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'entries'::regclass AND contype = 'f'}),
        'FOREIGN KEY (account_id) REFERENCES accounts(id)', "$db: a foreign key made under 0.2.0 references the table under its name");
    is($node->safe_psql($db, q{SELECT string_agg(id || ' ' || (deleted_at IS NULL), ', ' ORDER BY id) FROM accounts}),
        '1 true, 2 false, 3 true', "$db: every row and mark is kept");
    is($node->safe_psql($db, q{SET ROLE app; SELECT string_agg(id::text, ', ' ORDER BY id) FROM accounts}),
        '1, 3', "$db: the application sees the live rows only");
    is($node->safe_psql($db, q{LOAD 'rowkeeper'; SET ROLE app; DELETE FROM accounts WHERE id = 3}),
        '', "$db: the DELETE granted on the view works on the table");
    is($node->safe_psql($db, q{SELECT deleted_at IS NOT NULL AND deleted_batch IS NOT NULL FROM accounts WHERE id = 3}),
        't', "$db: and marks the row instead of removing it");
    is($node->safe_psql($db,
            q{SELECT rowkeeper.restore('accounts', '{"id": 2}'); SET ROLE app; SELECT string_agg(id::text, ', ' ORDER BY id) FROM accounts}),
        "1\n1, 2", "$db: restore() brings back a row deleted under 0.2.0");
    is($node->safe_psql($db,
            q{SELECT count(*) FROM rowkeeper.purge_runs WHERE kind = 'soft_deleted' AND target_owner IS NULL}),
        '1', "$db: the purge run recorded under 0.2.0 is kept (for auditors: its table is known by name only)");
}

# an upgrade that cannot turn a 0.2.0 soft-delete view back into its table
# stops before changing anything, and says what is in the way
$node->safe_psql('postgres', 'CREATE DATABASE blocked');
$node->safe_psql('blocked', qq{
    CREATE EXTENSION rowkeeper VERSION '0.2.0';
    $accounts
    SELECT rowkeeper.enable_soft_delete('accounts');
    CREATE VIEW account_names AS SELECT name FROM accounts;
});
($ret, $out, $err) = $node->psql('blocked', 'ALTER EXTENSION rowkeeper UPDATE');
like($err, qr/ERROR:  cannot turn the soft-delete view public\.accounts back into table public\.accounts_with_deleted\n/,
    'a view over a 0.2.0 soft-delete view stops the upgrade');
like($err, qr/In the way: view public\.account_names\./, 'and the error names it');
like($err, qr/HINT:  Drop those objects, run ALTER EXTENSION rowkeeper UPDATE/, 'and the hint says what to do');
is($node->safe_psql('blocked', q{SELECT extversion || ' ' || (SELECT relkind::text FROM pg_class WHERE relname = 'accounts')
                                   FROM pg_extension WHERE extname = 'rowkeeper'}),
    '0.2.0 v', 'nothing changed');
$node->safe_psql('blocked', 'DROP VIEW account_names; ALTER EXTENSION rowkeeper UPDATE');
is($node->safe_psql('blocked', q{SELECT relkind FROM pg_class WHERE relname = 'accounts'}),
    'r', 'once it is dropped the upgrade goes through');

$node->stop;
done_testing();
