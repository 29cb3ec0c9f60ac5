-- rowkeeper's enable_* calls as a custom migration (drizzle-kit generate --custom --name=rowkeeper)
SELECT rowkeeper.enable_audit('users');--> statement-breakpoint
SELECT rowkeeper.enable_audit('posts');--> statement-breakpoint
SELECT rowkeeper.enable_updated_at('users');--> statement-breakpoint
SELECT rowkeeper.enable_updated_at('posts');--> statement-breakpoint
SELECT rowkeeper.enable_soft_delete('users');--> statement-breakpoint
SELECT rowkeeper.enable_soft_delete('posts');--> statement-breakpoint
SELECT rowkeeper.enable_tenant_isolation('users');--> statement-breakpoint
SELECT rowkeeper.enable_tenant_isolation('posts');--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON users, posts TO app;--> statement-breakpoint
GRANT USAGE ON SEQUENCE users_id_seq, posts_id_seq TO app;
