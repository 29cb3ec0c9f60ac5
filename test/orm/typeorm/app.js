// The application's flow through TypeORM as the application role: every
// transaction sets its tenant first.  Prints one JSON line of results.
const ds = require('./datasource');

function asTenant(tenant, fn) {
  return ds.transaction(async (em) => {
    await em.query('SELECT rowkeeper.set_context(actor => $1, tenant => $2)', ['typeorm-app', tenant]);
    return fn(em);
  });
}
async function ops(em, table, id) {
  // the key as TypeORM hands bigint ids to the application: a string
  const rows = await em.query('SELECT op FROM rowkeeper.row_history($1, $2::jsonb)',
                              [table, JSON.stringify({ id })]);
  return rows.map((r) => r.op).join(' ');
}

(async () => {
  await ds.initialize();
  const out = {};
  const stage = process.argv[2];
  if (stage === 'before') {
    const ids = {};
    for (const tenant of ['1', '2']) {
      ids[tenant] = await asTenant(tenant, async (em) => {
        // tenantId is left out: its default (rowkeeper.current_tenant_bigint()) fills it
        const u = await em.save('User', { name: 'user of ' + tenant });
        const p = await em.save('Post', { title: 'post of ' + tenant, author: { id: u.id } });
        return { user: u.id, post: p.id };
      });
    }
    const t1 = ids['1'];
    out.id_type = typeof t1.user;
    out.tenant1_posts = await asTenant('1', (em) => em.find('Post', { select: { title: true, tenantId: true } }));
    // a real change through save(), then a no-op through update(), which
    // stamps updatedAt itself: the stamp is kept and nothing is audited
    out.stamp_before = await asTenant('1', async (em) => {
      const u = await em.findOneBy('User', { id: t1.user });
      u.name = 'renamed 1';
      await em.save('User', u);
      return (await em.findOneBy('User', { id: t1.user })).updatedAt.toISOString();
    });
    out.noop = await asTenant('1', async (em) => {
      await em.update('User', { id: t1.user }, { name: 'renamed 1' });
      return (await em.findOneBy('User', { id: t1.user })).updatedAt.toISOString() === out.stamp_before;
    });
    out.cross_tenant_delete = (await asTenant('1', (em) => em.delete('Post', { id: ids['2'].post }))).affected;
    out.deleted = (await asTenant('1', (em) => em.delete('Post', { id: t1.post }))).affected;
    out.after_delete = await asTenant('1', (em) => em.count('Post'));
    out.restored = await asTenant('1', async (em) => (await em.query(
      'SELECT rowkeeper.restore($1, $2::jsonb) AS n', ['post', JSON.stringify({ id: t1.post })]))[0].n);
    out.after_restore = await asTenant('1', (em) => em.count('Post'));
    out.post_history = await asTenant('1', (em) => ops(em, 'post', t1.post));
    out.user_history = await asTenant('1', (em) => ops(em, '"user"', t1.user));
    out.other_tenant_history = await asTenant('2', (em) => ops(em, 'post', t1.post));
    try {
      await ds.getRepository('User').find();
      out.no_tenant = 'read';
    } catch (e) {
      out.no_tenant = e.message;
    }
  } else {
    // after the follow-up migration: renamed column, new column, new table
    // with a foreign key to "user"
    await asTenant('2', async (em) => {
      const u = await em.findOneBy('User', {});
      await em.save('Comment', { body: 'hi', user: { id: u.id } });
      await em.update('User', { id: u.id }, { displayName: 'renamed 2' });
      await em.update('Post', { tenantId: '2' }, { body: 'text' });
    });
    out.tenant2 = await asTenant('2', (em) => em.find('User', { select: { displayName: true } }));
    out.tenant2_posts = await asTenant('2', (em) => em.find('Post', { select: { title: true, body: true } }));
    out.tenant1_comments = await asTenant('1', (em) => em.count('Comment'));
    out.tenant2_comments = await asTenant('2', (em) => em.count('Comment'));
  }
  console.log(JSON.stringify(out));
  await ds.destroy();
})().catch(async (e) => {
  console.error(e.message);
  if (ds.isInitialized) await ds.destroy();
  process.exit(1);
});
