// A follow-up migration on tables that hold every tenant's rows, run as
// the owner without a tenant: add a column, an index, rename a column, and
// a new table with a foreign key to an isolated, audited table (validated
// across all tenants), plus a foreign key added to an existing table.
exports.up = async (knex) => {
  await knex.schema.alterTable('posts', (t) => {
    t.text('body');
    t.index(['tenant_id', 'title']);
  });
  await knex.schema.alterTable('users', (t) => {
    t.renameColumn('name', 'display_name');
  });
  await knex.schema.createTable('comments', (t) => {
    t.bigIncrements('id');
    t.bigInteger('tenant_id').notNullable();
    t.bigInteger('post_id').notNullable();
    t.text('body');
  });
  await knex.schema.alterTable('comments', (t) => {
    t.foreign('post_id').references('posts.id');
  });
  await knex.schema.alterTable('posts', (t) => {
    t.bigInteger('editor_id').references('id').inTable('users');
  });
  await knex.raw('SELECT rowkeeper.enable_audit(?)', ['comments']);
  await knex.raw('SELECT rowkeeper.enable_tenant_isolation(?)', ['comments']);
  await knex.raw('GRANT SELECT, INSERT, UPDATE, DELETE ON comments TO app');
  await knex.raw('GRANT USAGE ON SEQUENCE comments_id_seq TO app');
};
exports.down = async (knex) => {
  await knex.raw('SELECT rowkeeper.disable_tenant_isolation(?)', ['comments']);
  await knex.raw('SELECT rowkeeper.disable_audit(?)', ['comments']);
  await knex.schema.alterTable('posts', (t) => {
    t.dropForeign('editor_id');
    t.dropColumn('editor_id');
  });
  await knex.schema.dropTable('comments');
  await knex.schema.alterTable('users', (t) => {
    t.renameColumn('display_name', 'name');
  });
  await knex.schema.alterTable('posts', (t) => {
    t.dropIndex(['tenant_id', 'title']);
    t.dropColumn('body');
  });
};
