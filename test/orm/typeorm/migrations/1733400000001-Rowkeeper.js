// rowkeeper's enable_* calls as a migration of their own
// (typeorm migration:create migrations/Rowkeeper), disable_* as its down.
// Camel-case table and column names as TypeORM writes them; "user" is
// quoted inside the string (see doc/migrations.md).
const tables = ['"user"', 'post'];

module.exports = class Rowkeeper1733400000001 {
  async up(q) {
    for (const t of tables) {
      await q.query('SELECT rowkeeper.enable_audit($1)', [t]);
      await q.query("SELECT rowkeeper.enable_updated_at($1, 'updatedAt')", [t]);
      await q.query("SELECT rowkeeper.enable_soft_delete($1, 'deletedAt')", [t]);
      await q.query("SELECT rowkeeper.enable_tenant_isolation($1, 'tenantId')", [t]);
    }
    await q.query('GRANT SELECT, INSERT, UPDATE, DELETE ON "user", post TO app');
    await q.query('GRANT USAGE ON SEQUENCE user_id_seq, post_id_seq TO app');
  }

  async down(q) {
    await q.query('REVOKE ALL ON "user", post FROM app');
    await q.query('REVOKE ALL ON SEQUENCE user_id_seq, post_id_seq FROM app');
    for (const t of [...tables].reverse()) {
      await q.query('SELECT rowkeeper.disable_tenant_isolation($1)', [t]);
      await q.query('SELECT rowkeeper.disable_soft_delete($1, force => true)', [t]);
      await q.query("SELECT rowkeeper.disable_updated_at($1, 'updatedAt')", [t]);
      await q.query('SELECT rowkeeper.disable_audit($1)', [t]);
    }
  }
};
