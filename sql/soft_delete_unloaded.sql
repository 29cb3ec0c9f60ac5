-- soft_delete_unloaded: a session that has not loaded the library (no
-- session_preload_libraries here, and no rowkeeper call before).  Reads
-- hide the deleted rows all the same (the policy is PostgreSQL's); a DELETE
-- that was parsed before the library was there reaches the table's guard,
-- which refuses it and names the setting to add: nothing is removed, and the
-- count does not lie.  The library is loaded from then on, and the same
-- DELETE run again is a soft delete.  The tables come from
-- soft_delete_rewrite.
CREATE ROLE rk_unl_app;
GRANT SELECT, DELETE ON unl TO rk_unl_app;
GRANT DELETE ON unl_parent TO rk_unl_app;
SET ROLE rk_unl_app;
\set QUIET off
DELETE FROM unl WHERE id = 1;
\set QUIET on
SELECT id, name FROM unl ORDER BY id;
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS marked FROM unl ORDER BY id;
SET ROLE rk_unl_app;
\set QUIET off
DELETE FROM unl WHERE id = 1;
DELETE FROM unl WHERE id = 1;
\set QUIET on
RESET ROLE;
SELECT id, deleted_at IS NOT NULL AS marked FROM unl ORDER BY id;
-- a foreign key's ON DELETE CASCADE from a table without soft delete is
-- refused by the guard, loaded or not: the parent stays, no orphan
SET ROLE rk_unl_app;
DELETE FROM unl_parent;
RESET ROLE;
SELECT count(*) AS parents FROM unl_parent;
SELECT rowkeeper.disable_soft_delete('unl', force => true);
DROP TABLE unl, unl_parent;
DROP ROLE rk_unl_app;
