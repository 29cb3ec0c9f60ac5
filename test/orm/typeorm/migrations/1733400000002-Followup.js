// A follow-up migration on tables that hold every tenant's rows, run as
// the owner without a tenant, through TypeORM's QueryRunner API: add a
// column, an index, rename a column, and a new table with a foreign key
// (ALTER TABLE ... ADD CONSTRAINT, validated across every tenant) to the
// soft-deleted, tenant-isolated, audited "user", with its own enable_*
// calls.
const { Table, TableColumn, TableForeignKey, TableIndex } = require('typeorm');

module.exports = class Followup1733400000002 {
  async up(q) {
    await q.addColumn('post', new TableColumn({ name: 'body', type: 'text', isNullable: true }));
    await q.createIndex('post', new TableIndex({ name: 'IDX_post_tenant_title', columnNames: ['tenantId', 'title'] }));
    await q.renameColumn('user', 'name', 'displayName');
    await q.createTable(new Table({
      name: 'comment',
      columns: [
        { name: 'id', type: 'bigint', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
        { name: 'tenantId', type: 'bigint' },
        { name: 'body', type: 'text' },
        { name: 'userId', type: 'bigint' },
      ],
    }));
    await q.createForeignKey('comment', new TableForeignKey({
      columnNames: ['userId'], referencedTableName: 'user', referencedColumnNames: ['id'],
    }));
    await q.query('SELECT rowkeeper.enable_audit($1)', ['comment']);
    await q.query("SELECT rowkeeper.enable_tenant_isolation($1, 'tenantId')", ['comment']);
    await q.query('GRANT SELECT, INSERT, UPDATE, DELETE ON comment TO app');
    await q.query('GRANT USAGE ON SEQUENCE comment_id_seq TO app');
  }

  async down(q) {
    await q.query('SELECT rowkeeper.disable_tenant_isolation($1)', ['comment']);
    await q.query('SELECT rowkeeper.disable_audit($1)', ['comment']);
    await q.dropTable('comment', true, true);
    await q.renameColumn('user', 'displayName', 'name');
    await q.dropIndex('post', 'IDX_post_tenant_title');
    await q.dropColumn('post', 'body');
  }
};
