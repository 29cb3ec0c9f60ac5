// The application's flow through Sequelize as the application role: every
// transaction sets its tenant first.  Prints one JSON line of results.
const { sequelize, User, Post, Comment } = require('./models');

function asTenant(tenant, fn) {
  return sequelize.transaction(async (transaction) => {
    await sequelize.query('SELECT rowkeeper.set_context(actor => $1, tenant => $2)',
                          { bind: ['sequelize-app', tenant], transaction });
    return fn(transaction);
  });
}
async function ops(transaction, table, id) {
  // the key as Sequelize hands bigint ids to the application: a string
  const rows = await sequelize.query('SELECT op FROM rowkeeper.row_history($1, $2::jsonb)',
    { bind: [table, JSON.stringify({ id })], transaction, type: sequelize.QueryTypes.SELECT });
  return rows.map((r) => r.op).join(' ');
}

(async () => {
  const out = {};
  const stage = process.argv[2];
  if (stage === 'before') {
    const ids = {};
    for (const tenant of ['1', '2']) {
      ids[tenant] = await asTenant(tenant, async (transaction) => {
        // tenantId is left out: its default (rowkeeper.current_tenant_bigint()) fills it
        const u = await User.create({ name: 'user of ' + tenant }, { transaction });
        const p = await Post.create({ title: 'post of ' + tenant, UserId: u.id }, { transaction });
        return { user: u.id, post: p.id };
      });
    }
    const t1 = ids['1'];
    out.id_type = typeof t1.user;
    out.tenant1_posts = await asTenant('1', (transaction) =>
      Post.findAll({ attributes: ['title', 'tenantId'], transaction, raw: true }));
    // a real change through save(), then a no-op update() (Sequelize
    // stamps updatedAt itself): the stamp is kept, nothing is audited
    const stamp = await asTenant('1', async (transaction) => {
      const u = await User.findByPk(t1.user, { transaction });
      u.name = 'renamed 1';
      await u.save({ transaction });
      return (await User.findByPk(t1.user, { transaction })).updatedAt.getTime();
    });
    out.noop = await asTenant('1', async (transaction) => {
      await User.update({ name: 'renamed 1' }, { where: { id: t1.user }, transaction });
      return (await User.findByPk(t1.user, { transaction })).updatedAt.getTime() === stamp;
    });
    out.cross_tenant_delete = await asTenant('1', (transaction) => Post.destroy({ where: { id: ids['2'].post }, transaction }));
    out.deleted = await asTenant('1', (transaction) => Post.destroy({ where: { id: t1.post }, transaction }));
    out.after_delete = await asTenant('1', (transaction) => Post.count({ transaction }));
    out.restored = await asTenant('1', async (transaction) => (await sequelize.query(
      'SELECT rowkeeper.restore($1, $2::jsonb) AS n',
      { bind: ['"Posts"', JSON.stringify({ id: t1.post })], transaction, type: sequelize.QueryTypes.SELECT }))[0].n);
    out.after_restore = await asTenant('1', (transaction) => Post.count({ transaction }));
    out.post_history = await asTenant('1', (transaction) => ops(transaction, '"Posts"', t1.post));
    out.user_history = await asTenant('1', (transaction) => ops(transaction, '"Users"', t1.user));
    out.other_tenant_history = await asTenant('2', (transaction) => ops(transaction, '"Posts"', t1.post));
    try {
      await User.findAll();
      out.no_tenant = 'read';
    } catch (e) {
      out.no_tenant = e.message;
    }
  } else {
    // after the follow-up migration: renamed column, new column, new table
    // with a foreign key to "Users"
    await asTenant('2', async (transaction) => {
      const u = await User.findOne({ transaction });
      await Comment.create({ body: 'hi', UserId: u.id }, { transaction });
      await User.update({ displayName: 'renamed 2' }, { where: { id: u.id }, transaction });
      await Post.update({ body: 'text' }, { where: { tenantId: '2' }, transaction });
    });
    out.tenant2 = await asTenant('2', (transaction) => User.findAll({ attributes: ['displayName'], transaction, raw: true }));
    out.tenant2_posts = await asTenant('2', (transaction) => Post.findAll({ attributes: ['title', 'body'], transaction, raw: true }));
    out.tenant1_comments = await asTenant('1', (transaction) => Comment.count({ transaction }));
    out.tenant2_comments = await asTenant('2', (transaction) => Comment.count({ transaction }));
  }
  console.log(JSON.stringify(out));
  await sequelize.close();
})().catch(async (e) => {
  console.error(e.message);
  await sequelize.close();
  process.exit(1);
});
