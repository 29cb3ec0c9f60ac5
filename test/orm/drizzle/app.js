// The application's flow through drizzle-orm as the application role:
// every transaction sets its tenant first.  Prints one JSON line of results.
const { drizzle } = require('drizzle-orm/node-postgres');
const { pgTable, bigserial, bigint, text } = require('drizzle-orm/pg-core');
const { eq, sql } = require('drizzle-orm');
const { Pool } = require('pg');
const schema = require('./schema');

const pool = new Pool({ user: process.env.DZ_USER, max: 2 });
const db = drizzle(pool);
// the tables before the follow-up migration (name not yet renamed to
// display_name, no body), as the application had them then
const usersV1 = pgTable('users', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  name: text('name').notNull(),
});
const postsV1 = pgTable('posts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  userId: bigint('user_id', { mode: 'number' }).notNull(),
  title: text('title').notNull(),
});
const { comments, users } = schema;

function asTenant(tenant, fn) {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT rowkeeper.set_context(actor => 'drizzle-app', tenant => ${tenant})`);
    return fn(tx);
  });
}
async function ops(tx, table, id) {
  // the key as drivers hand bigint ids to the application: a string
  const r = await tx.execute(sql`SELECT op FROM rowkeeper.row_history(${table}, ${JSON.stringify({ id: String(id) })}::jsonb)`);
  return r.rows.map((x) => x.op).join(' ');
}

(async () => {
  const out = {};
  const stage = process.argv[2];
  if (stage === 'before') {
    const ids = {};
    for (const tenant of ['1', '2']) {
      ids[tenant] = await asTenant(tenant, async (tx) => {
        const [u] = await tx.insert(usersV1).values({ name: 'user of ' + tenant }).returning({ id: usersV1.id });
        const [p] = await tx.insert(postsV1).values({ userId: u.id, title: 'post of ' + tenant }).returning({ id: postsV1.id });
        return { user: u.id, post: p.id };
      });
    }
    const t1 = ids['1'];
    out.tenant1_posts = await asTenant('1', (tx) => tx.select({ title: postsV1.title }).from(postsV1));
    out.updated = (await asTenant('1', (tx) => tx.update(usersV1).set({ name: 'renamed 1' })
      .where(eq(usersV1.id, t1.user)))).rowCount;
    // tenant 1 cannot touch tenant 2's post
    out.cross_tenant_delete = (await asTenant('1', (tx) => tx.delete(postsV1).where(eq(postsV1.id, ids['2'].post)))).rowCount;
    out.deleted = (await asTenant('1', (tx) => tx.delete(postsV1).where(eq(postsV1.id, t1.post)))).rowCount;
    out.after_delete = (await asTenant('1', (tx) => tx.select().from(postsV1))).length;
    out.restored = await asTenant('1', async (tx) => (await tx.execute(
      sql`SELECT rowkeeper.restore('posts', ${JSON.stringify({ id: String(t1.post) })}::jsonb) AS n`)).rows[0].n);
    out.after_restore = (await asTenant('1', (tx) => tx.select().from(postsV1))).length;
    out.post_history = await asTenant('1', (tx) => ops(tx, 'posts', t1.post));
    out.user_history = await asTenant('1', (tx) => ops(tx, 'users', t1.user));
    out.other_tenant_history = await asTenant('2', (tx) => ops(tx, 'posts', t1.post));
    try {
      await db.select().from(postsV1);
      out.no_tenant = 'read';
    } catch (e) {
      out.no_tenant = (e.cause || e).message;
    }
  } else {
    // after the follow-up migration: renamed column, new column, new table
    // with a foreign key to users
    await asTenant('2', async (tx) => {
      const [u] = await tx.select({ id: users.id }).from(users);
      await tx.insert(comments).values({ userId: u.id, body: 'hi' });
      await tx.update(users).set({ displayName: 'renamed 2' });
      await tx.update(schema.posts).set({ body: 'text' });
    });
    out.tenant2 = await asTenant('2', (tx) => tx.select({ displayName: users.displayName }).from(users));
    out.tenant2_posts = await asTenant('2', (tx) => tx.select({ title: schema.posts.title, body: schema.posts.body }).from(schema.posts));
    out.tenant1_comments = (await asTenant('1', (tx) => tx.select().from(comments))).length;
    out.tenant2_comments = (await asTenant('2', (tx) => tx.select().from(comments))).length;
  }
  console.log(JSON.stringify(out));
  await pool.end();
})().catch(async (e) => {
  console.error((e.cause || e).message || e);
  await pool.end();
  process.exit(1);
});
