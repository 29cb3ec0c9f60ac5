// The application's flow through the Prisma client (driver adapter
// @prisma/adapter-pg) as the application role, whose session TimeZone is
// not UTC: every transaction sets its tenant first.  Prints one JSON line.
const { PrismaPg } = require('@prisma/adapter-pg');

const stage = process.argv[2];
const { PrismaClient } = require(stage === 'before' ? './generated/before' : './generated/followup');
const prisma = new PrismaClient({
  adapter: new PrismaPg({
    host: process.env.PGHOST, port: Number(process.env.PGPORT),
    database: process.env.PGDATABASE, user: process.env.PRISMA_USER, max: 2,
  }),
});

function asTenant(tenant, fn) {
  return prisma.$transaction(async (tx) => {
    await tx.$queryRaw`SELECT 1 FROM rowkeeper.set_context(actor => 'prisma-app', tenant => ${tenant})`;
    return fn(tx);
  });
}
async function ops(tx, table, id) {
  // the key as a string (Prisma's BigInt in JSON)
  const rows = await tx.$queryRaw`SELECT op FROM rowkeeper.row_history(${table}, ${JSON.stringify({ id: String(id) })}::jsonb)`;
  return rows.map((r) => r.op).join(' ');
}
const within = (d, ms) => Math.abs(d.getTime() - Date.now()) < ms;

(async () => {
  const out = {};
  if (stage === 'before') {
    out.session_time_zone = (await prisma.$queryRaw`SELECT current_setting('TimeZone') AS tz`)[0].tz;
    const ids = {};
    for (const tenant of ['1', '2']) {
      ids[tenant] = await asTenant(tenant, async (tx) => {
        // tenantId is left out: its default (rowkeeper.current_tenant_bigint()) fills it
        const u = await tx.user.create({ data: { name: 'user of ' + tenant } });
        const p = await tx.post.create({ data: { title: 'post of ' + tenant, authorId: u.id } });
        return { user: u.id, post: p.id };
      });
    }
    const t1 = ids['1'];
    out.tenant1_posts = (await asTenant('1', (tx) => tx.post.findMany({ select: { title: true, tenantId: true } })))
      .map((p) => ({ title: p.title, tenantId: String(p.tenantId) }));
    // @updatedAt: Prisma sends its own stamp; rowkeeper's (UTC, as Prisma
    // reads timestamp(3)) is what is stored, and reads back as now
    const u = await asTenant('1', (tx) => tx.user.update({ where: { id: t1.user }, data: { name: 'renamed 1' } }));
    out.updated_at_is_now = within(u.updatedAt, 120000);
    // a no-op save: same name, Prisma's fresh updatedAt; the stamp is kept
    const again = await asTenant('1', (tx) => tx.user.update({ where: { id: t1.user }, data: { name: 'renamed 1' } }));
    out.noop_kept_stamp = again.updatedAt.getTime() === u.updatedAt.getTime();
    out.cross_tenant_delete = (await asTenant('1', (tx) => tx.post.deleteMany({ where: { id: ids['2'].post } }))).count;
    out.deleted = (await asTenant('1', (tx) => tx.post.delete({ where: { id: t1.post } }))).title;
    out.after_delete = await asTenant('1', (tx) => tx.post.count());
    out.restored = String((await asTenant('1', (tx) => tx.$queryRaw`SELECT rowkeeper.restore('"Post"', ${JSON.stringify({ id: String(t1.post) })}::jsonb) AS n`))[0].n);
    out.after_restore = await asTenant('1', (tx) => tx.post.count());
    out.post_history = await asTenant('1', (tx) => ops(tx, '"Post"', t1.post));
    out.user_history = await asTenant('1', (tx) => ops(tx, '"User"', t1.user));
    out.other_tenant_history = await asTenant('2', (tx) => ops(tx, '"Post"', t1.post));
    try {
      await prisma.user.findMany();
      out.no_tenant = 'read';
    } catch (e) {
      out.no_tenant = /no tenant is set/.test(e.message) ? 'no tenant is set' : e.message;
    }
  } else {
    // after the follow-up migration: renamed column, new column, new table
    // with a foreign key to "User"
    await asTenant('2', async (tx) => {
      const u = await tx.user.findFirst();
      await tx.comment.create({ data: { body: 'hi', userId: u.id } });
      await tx.user.update({ where: { id: u.id }, data: { displayName: 'renamed 2' } });
      await tx.post.updateMany({ data: { body: 'text' } });
    });
    out.tenant2 = await asTenant('2', (tx) => tx.user.findMany({ select: { displayName: true } }));
    out.tenant2_posts = await asTenant('2', (tx) => tx.post.findMany({ select: { title: true, body: true } }));
    out.tenant1_comments = await asTenant('1', (tx) => tx.comment.count());
    out.tenant2_comments = await asTenant('2', (tx) => tx.comment.count());
  }
  console.log(JSON.stringify(out));
  await prisma.$disconnect();
})().catch(async (e) => {
  console.error(e.message);
  await prisma.$disconnect();
  process.exit(1);
});
