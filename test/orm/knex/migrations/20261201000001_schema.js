// A small multi-tenant schema, as knex's schema builder writes it.
exports.up = async (knex) => {
  await knex.schema.createTable('users', (t) => {
    t.bigIncrements('id');
    t.bigInteger('tenant_id').notNullable();
    t.string('name').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('posts', (t) => {
    t.bigIncrements('id');
    t.bigInteger('tenant_id').notNullable();
    t.bigInteger('user_id').notNullable().references('id').inTable('users');
    t.string('title').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
};
exports.down = async (knex) => {
  await knex.schema.dropTable('posts');
  await knex.schema.dropTable('users');
};
