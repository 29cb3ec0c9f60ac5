// A small multi-tenant schema as Sequelize names it: "Users", "Posts",
// camelCase columns, "UserId" for the foreign key.  deletedAt is declared;
// the deletion batch column is left to rowkeeper (which names it
// "deletedBatch", in this table's convention).
module.exports = {
  async up(queryInterface, Sequelize) {
    await queryInterface.createTable('Users', {
      id: { type: Sequelize.BIGINT, autoIncrement: true, primaryKey: true },
      tenantId: { type: Sequelize.BIGINT, allowNull: false },
      name: { type: Sequelize.STRING, allowNull: false },
      createdAt: { type: Sequelize.DATE, allowNull: false },
      updatedAt: { type: Sequelize.DATE, allowNull: false },
      deletedAt: { type: Sequelize.DATE },
    });
    await queryInterface.createTable('Posts', {
      id: { type: Sequelize.BIGINT, autoIncrement: true, primaryKey: true },
      tenantId: { type: Sequelize.BIGINT, allowNull: false },
      UserId: { type: Sequelize.BIGINT, allowNull: false, references: { model: 'Users', key: 'id' } },
      title: { type: Sequelize.STRING, allowNull: false },
      createdAt: { type: Sequelize.DATE, allowNull: false },
      updatedAt: { type: Sequelize.DATE, allowNull: false },
      deletedAt: { type: Sequelize.DATE },
    });
  },
  async down(queryInterface) {
    await queryInterface.dropTable('Posts');
    await queryInterface.dropTable('Users');
  },
};
