// The application's flow through knex as the application role: every
// transaction sets its tenant first.  Prints one JSON line of results.
const knex = require('knex')(require('./knexfile'));

async function asTenant(tenant, fn) {
  return knex.transaction(async (trx) => {
    await trx.raw('SELECT rowkeeper.set_context(actor => ?, tenant => ?)', ['knex-app', tenant]);
    return fn(trx);
  });
}

(async () => {
  const out = {};
  const stage = process.argv[2];
  if (stage === 'before') {
    for (const tenant of ['1', '2']) {
      await asTenant(tenant, async (trx) => {
        const [u] = await trx('users').insert({ name: 'user of ' + tenant }).returning('id');
        await trx('posts').insert({ user_id: u.id, title: 'post of ' + tenant });
      });
    }
    out.tenant1 = await asTenant('1', (trx) => trx('posts').select('title').orderBy('id'));
    // a no-op save as ORMs do it: same values, a fresh updated_at
    const before = await asTenant('1', (trx) => trx('users').first('id', 'name', 'updated_at'));
    await asTenant('1', (trx) => trx('users').where({ id: before.id })
      .update({ name: before.name, updated_at: new Date(Date.now() + 60000) }));
    const after = await asTenant('1', (trx) => trx('users').first('updated_at'));
    out.noop_kept_stamp = after.updated_at.getTime() === before.updated_at.getTime();
    try {
      await knex('users').select();
      out.no_tenant = 'read';
    } catch (e) {
      out.no_tenant = e.message;
    }
  } else {
    // after the follow-up migration: renamed column, new table with a foreign key
    await asTenant('2', async (trx) => {
      const p = await trx('posts').first('id');
      await trx('comments').insert({ post_id: p.id, body: 'hi' });
      await trx('users').update({ display_name: 'renamed' });
    });
    out.tenant2 = await asTenant('2', (trx) => trx('users').select('display_name'));
    out.comments = await asTenant('1', (trx) => trx('comments').count({ n: '*' }));
  }
  console.log(JSON.stringify(out));
  await knex.destroy();
})().catch(async (e) => {
  console.error(e.message);
  await knex.destroy();
  process.exit(1);
});
