// The application's entities (TypeORM EntitySchema, camelCase columns as
// TypeORM names them), in their shape after the follow-up migration when
// TYPEORM_STAGE=followup, before it otherwise.
const { EntitySchema } = require('typeorm');

const followup = process.env.TYPEORM_STAGE === 'followup';
const bookkeeping = {
  createdAt: { type: 'timestamptz', createDate: true },
  updatedAt: { type: 'timestamptz', updateDate: true },
  deletedAt: { type: 'timestamptz', nullable: true },
  deletedBatch: { type: 'bigint', nullable: true },
};
// what rowkeeper.enable_tenant_isolation() adds: the tenant column's default
// (the current tenant) and its index, declared so that TypeORM's schema
// diff knows them
const tenantId = { type: 'bigint', default: () => 'rowkeeper.current_tenant_bigint()' };
const tenantIndex = (table) => ({ name: `${table}_tenantId_idx`, columns: ['tenantId'] });
const User = new EntitySchema({
  name: 'User',
  tableName: 'user',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    tenantId,
    [followup ? 'displayName' : 'name']: { type: 'varchar' },
    ...bookkeeping,
  },
  indices: [tenantIndex('user')],
});
const Post = new EntitySchema({
  name: 'Post',
  tableName: 'post',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    tenantId,
    title: { type: 'varchar' },
    ...(followup ? { body: { type: 'text', nullable: true } } : {}),
    ...bookkeeping,
  },
  relations: {
    author: { type: 'many-to-one', target: 'User', joinColumn: { name: 'authorId' }, nullable: false },
  },
  indices: [tenantIndex('post'),
            ...(followup ? [{ name: 'IDX_post_tenant_title', columns: ['tenantId', 'title'] }] : [])],
});
const Comment = new EntitySchema({
  name: 'Comment',
  tableName: 'comment',
  columns: {
    id: { type: 'bigint', primary: true, generated: 'increment' },
    tenantId,
    body: { type: 'text' },
  },
  indices: [tenantIndex('comment')],
  relations: {
    user: { type: 'many-to-one', target: 'User', joinColumn: { name: 'userId' }, nullable: false },
  },
});
module.exports = followup ? [User, Post, Comment] : [User, Post];
