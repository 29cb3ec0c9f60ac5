// rowkeeper's enable_* calls as a migration of their own, disable_* as its down.
const tables = ['users', 'posts'];
exports.up = async (knex) => {
  for (const t of tables) {
    await knex.raw('SELECT rowkeeper.enable_audit(?)', [t]);
    await knex.raw('SELECT rowkeeper.enable_updated_at(?)', [t]);
    await knex.raw('SELECT rowkeeper.enable_tenant_isolation(?)', [t]);
  }
  await knex.raw('GRANT SELECT, INSERT, UPDATE, DELETE ON users, posts TO app');
  await knex.raw('GRANT USAGE ON SEQUENCE users_id_seq, posts_id_seq TO app');
};
exports.down = async (knex) => {
  await knex.raw('REVOKE ALL ON users, posts FROM app');
  await knex.raw('REVOKE ALL ON SEQUENCE users_id_seq, posts_id_seq FROM app');
  for (const t of [...tables].reverse()) {
    await knex.raw('SELECT rowkeeper.disable_tenant_isolation(?)', [t]);
    await knex.raw('SELECT rowkeeper.disable_updated_at(?)', [t]);
    await knex.raw('SELECT rowkeeper.disable_audit(?)', [t]);
  }
};
