// The schema after the follow-up migration (drizzle/0002_followup.sql): what
// `drizzle-kit generate` compares with the migrations' snapshots.  The
// soft-delete columns are declared from the start (0000_schema.sql), so
// rowkeeper's enable_soft_delete() finds them and adds nothing.
const { pgTable, index, bigserial, bigint, text, timestamp } = require('drizzle-orm/pg-core');
const users = pgTable('users', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  tenantId: bigint('tenant_id', { mode: 'number' }).notNull(),
  displayName: text('display_name').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
  deletedBatch: bigint('deleted_batch', { mode: 'number' }),
});
const posts = pgTable('posts', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  tenantId: bigint('tenant_id', { mode: 'number' }).notNull(),
  userId: bigint('user_id', { mode: 'number' }).notNull().references(() => users.id),
  title: text('title').notNull(),
  body: text('body'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  deletedAt: timestamp('deleted_at', { withTimezone: true }),
  deletedBatch: bigint('deleted_batch', { mode: 'number' }),
}, (t) => [index('posts_tenant_title_idx').on(t.tenantId, t.title)]);
const comments = pgTable('comments', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  tenantId: bigint('tenant_id', { mode: 'number' }).notNull(),
  userId: bigint('user_id', { mode: 'number' }).notNull().references(() => users.id),
  body: text('body'),
});
module.exports = { users, posts, comments };
