-- the table added by the follow-up migration gets its own enable_* calls
SELECT rowkeeper.enable_audit('comments');--> statement-breakpoint
SELECT rowkeeper.enable_tenant_isolation('comments');--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON comments TO app;--> statement-breakpoint
GRANT USAGE ON SEQUENCE comments_id_seq TO app;
