// rowkeeper's enable_* calls as a migration of their own, disable_* as its
// down.  Sequelize's tables are camelCase: quoted inside the string.
const tables = ['"Users"', '"Posts"'];

module.exports = {
  async up(queryInterface) {
    const q = (sql, t) => queryInterface.sequelize.query(sql, { bind: [t] });
    for (const t of tables) {
      await q('SELECT rowkeeper.enable_audit($1)', t);
      await q("SELECT rowkeeper.enable_updated_at($1, 'updatedAt')", t);
      await q("SELECT rowkeeper.enable_soft_delete($1, 'deletedAt')", t);
      await q("SELECT rowkeeper.enable_tenant_isolation($1, 'tenantId')", t);
    }
    await queryInterface.sequelize.query('GRANT SELECT, INSERT, UPDATE, DELETE ON "Users", "Posts" TO app');
    await queryInterface.sequelize.query('GRANT USAGE ON SEQUENCE "Users_id_seq", "Posts_id_seq" TO app');
  },
  async down(queryInterface) {
    const q = (sql, t) => queryInterface.sequelize.query(sql, { bind: [t] });
    await queryInterface.sequelize.query('REVOKE ALL ON "Users", "Posts" FROM app');
    await queryInterface.sequelize.query('REVOKE ALL ON SEQUENCE "Users_id_seq", "Posts_id_seq" FROM app');
    for (const t of [...tables].reverse()) {
      await q('SELECT rowkeeper.disable_tenant_isolation($1)', t);
      await q('SELECT rowkeeper.disable_soft_delete($1, force => true)', t);
      await q("SELECT rowkeeper.disable_updated_at($1, 'updatedAt')", t);
      await q('SELECT rowkeeper.disable_audit($1)', t);
    }
    // the batch column enable_soft_delete added
    await queryInterface.removeColumn('Posts', 'deletedBatch');
    await queryInterface.removeColumn('Users', 'deletedBatch');
  },
};
