/*
 * rowkeeper 0.2.0 -> 0.3.0
 */

\echo Use "ALTER EXTENSION rowkeeper UPDATE" to load this file. \quit

-- REPLAY CODE
