// A follow-up migration on tables that hold every tenant's rows, run as
// the owner without a tenant: add a column, an index, rename a column, and
// a new table with a foreign key (ALTER TABLE ... ADD CONSTRAINT, checked
// across every tenant) to the soft-deleted, tenant-isolated, audited
// "Users", with its own enable_* calls.
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.addColumn('Posts', 'body', { type: Sequelize.TEXT });
    await queryInterface.addIndex('Posts', ['tenantId', 'title']);
    await queryInterface.renameColumn('Users', 'name', 'displayName');
    await queryInterface.createTable('Comments', {
      id: { type: Sequelize.BIGINT, autoIncrement: true, primaryKey: true },
      tenantId: { type: Sequelize.BIGINT, allowNull: false },
      UserId: { type: Sequelize.BIGINT, allowNull: false },
      body: { type: Sequelize.TEXT },
      createdAt: { type: Sequelize.DATE, allowNull: false },
      updatedAt: { type: Sequelize.DATE, allowNull: false },
    });
    await queryInterface.addConstraint('Comments', {
      fields: ['UserId'], type: 'foreign key', name: 'Comments_UserId_fkey',
      references: { table: 'Users', field: 'id' },
    });
    await queryInterface.sequelize.query(`SELECT rowkeeper.enable_audit('"Comments"')`);
    await queryInterface.sequelize.query(`SELECT rowkeeper.enable_tenant_isolation('"Comments"', 'tenantId')`);
    await queryInterface.sequelize.query('GRANT SELECT, INSERT, UPDATE, DELETE ON "Comments" TO app');
    await queryInterface.sequelize.query('GRANT USAGE ON SEQUENCE "Comments_id_seq" TO app');
  },
  async down(queryInterface) {
    await queryInterface.sequelize.query(`SELECT rowkeeper.disable_tenant_isolation('"Comments"')`);
    await queryInterface.sequelize.query(`SELECT rowkeeper.disable_audit('"Comments"')`);
    await queryInterface.dropTable('Comments');
    await queryInterface.renameColumn('Users', 'displayName', 'name');
    await queryInterface.removeIndex('Posts', ['tenantId', 'title']);
    await queryInterface.removeColumn('Posts', 'body');
  },
};
