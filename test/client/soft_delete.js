// soft_delete.js: what an application driver sees when it deletes from a
// soft-delete table (rowkeeper.enable_soft_delete).  node-postgres reports
// the server's command tag as result.command / result.rowCount, which is
// what ORMs check (Hibernate fails a flush on "0 rows"; Prisma-style
// clients read DELETE ... RETURNING).  Prints one JSON object; the TAP test
// compares it.  Connection from the PG* environment variables.
'use strict';
const { Client } = require('pg');

function tag(r) {
    return { command: r.command, rowCount: r.rowCount };
}

async function main() {
    const c = new Client();
    await c.connect();
    const out = {};
    try {
        // extended protocol (parameters): one live row
        out.extended = tag(await c.query('DELETE FROM users WHERE id = $1', [1]));
        // the same row again: gone for the application
        out.again = tag(await c.query('DELETE FROM users WHERE id = $1', [1]));
        // simple protocol with RETURNING *: the row, as it was
        let r = await c.query('DELETE FROM users WHERE id = 2 RETURNING *');
        out.returning = { ...tag(r), rows: r.rows.map((x) => ({ id: x.id, email: x.email, deleted_at: x.deleted_at })) };
        // a named prepared statement run twice (plan cached server-side)
        const del = { name: 'del_many', text: 'DELETE FROM users WHERE id = ANY($1::int[]) RETURNING id' };
        r = await c.query({ ...del, values: [[3, 4, 99]] });
        out.prepared = { ...tag(r), ids: r.rows.map((x) => x.id).sort() };
        r = await c.query({ ...del, values: [[5]] });
        out.prepared_again = { ...tag(r), ids: r.rows.map((x) => x.id) };
        // inside a transaction that rolls back: nothing stays deleted
        await c.query('BEGIN');
        out.in_tx = tag(await c.query('DELETE FROM users WHERE id = $1', [6]));
        await c.query('ROLLBACK');
        r = await c.query('SELECT id FROM users ORDER BY id');
        out.live = r.rows.map((x) => x.id);
        // the deleted rows are hidden from the application, not gone (the
        // TAP test counts them as a superuser)
        r = await c.query('SELECT count(*)::int AS n FROM users WHERE deleted_at IS NOT NULL');
        out.hidden = r.rows[0].n;
    } finally {
        await c.end();
    }
    console.log(JSON.stringify(out));
}

main().catch((e) => {
    console.error(e.stack || String(e));
    process.exit(1);
});
