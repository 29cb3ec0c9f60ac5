-- drizzle has no down migrations: a further custom migration takes rowkeeper back
REVOKE ALL ON users, posts, comments FROM app;--> statement-breakpoint
SELECT rowkeeper.disable_tenant_isolation('comments');--> statement-breakpoint
SELECT rowkeeper.disable_audit('comments');--> statement-breakpoint
SELECT rowkeeper.disable_tenant_isolation('posts');--> statement-breakpoint
SELECT rowkeeper.disable_tenant_isolation('users');--> statement-breakpoint
SELECT rowkeeper.disable_soft_delete('posts', force => true);--> statement-breakpoint
SELECT rowkeeper.disable_soft_delete('users', force => true);--> statement-breakpoint
SELECT rowkeeper.disable_updated_at('posts');--> statement-breakpoint
SELECT rowkeeper.disable_updated_at('users');--> statement-breakpoint
SELECT rowkeeper.disable_audit('posts');--> statement-breakpoint
SELECT rowkeeper.disable_audit('users');
