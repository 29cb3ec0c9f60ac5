/*
 * rowkeeper install script, built by make from the living sources in
 * src/sql/ (one per capability, concatenated in file-name order; see
 * src/sql/README.md).
 *
 * Copyright (c) 2026, rowkeeper developers
 *
 * Everything lives in schema rowkeeper (created here, as a member of the
 * extension; the extension is not relocatable).  Every reference is
 * schema-qualified and every function pins search_path, so a hostile
 * search_path at install or call time cannot substitute objects.
 *
 * Blocks between "-- STATE BEGIN" and "-- STATE END" create state (the
 * schema, roles, tables, sequences, policies, event triggers): CREATE
 * EXTENSION runs them, an upgrade never replays them.  Everything else is
 * code (functions, views, their grants and comments), written with CREATE
 * OR REPLACE, which an upgrade replays as it is here.
 */

\echo Use "CREATE EXTENSION rowkeeper" to load this file. \quit

-- STATE BEGIN
-- The control file installs into pg_catalog so that the rowkeeper schema is
-- created here, as a member of the extension: DROP EXTENSION removes it, and
-- a pre-existing schema of that name makes CREATE EXTENSION fail instead of
-- being adopted.
CREATE SCHEMA rowkeeper;

-- Application roles call set_context() and the query functions; what they
-- may change is decided per object below, never by schema access.
GRANT USAGE ON SCHEMA rowkeeper TO PUBLIC;
-- STATE END
