/*
 * rowkeeper 0.1.0 -> 0.2.0: upgrade script, built by make from the
 * fragments in sql/0.2.0/ (one per capability, applied in file-name order).
 *
 * There is no full 0.2.0 install script: CREATE EXTENSION rowkeeper runs
 * rowkeeper--0.1.0.sql and then this script, so a fresh install and an
 * upgraded 0.1.0 install are the same objects by construction, and every
 * test run exercises the upgrade path.  Released scripts are never edited.
 */

\echo Use "CREATE EXTENSION rowkeeper" or "ALTER EXTENSION rowkeeper UPDATE" to load this file. \quit
