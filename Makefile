# rowkeeper: PGXS build.  The version comes from rowkeeper.control only.
EXTENSION   = rowkeeper
EXTVERSION  = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big  = rowkeeper
OBJS        = src/rowkeeper.o src/context.o src/catalog_util.o src/rowjson.o \
              src/updated_at.o src/audit.o src/audit_log.o src/audit_key.o \
              src/audit_chain.o src/soft_delete.o src/soft_delete_rewrite.o \
              src/tenant.o src/migration.o src/purge.o src/run_as.o src/citus.o \
              src/guc.o src/table_names.o src/compat_symbols.o

# Install and upgrade scripts (src/sql/README.md says how to change them):
# - released scripts, frozen, installed as they are: src/sql/released/;
# - the install script of this version, rowkeeper--$(EXTVERSION).sql,
#   concatenated from the living sources src/sql/NN_<capability>.sql;
# - the upgrade from the previous release, rowkeeper--<prev>--$(EXTVERSION).sql:
#   the hand-written delta src/sql/upgrade/<prev>--$(EXTVERSION).sql with the
#   code of the living sources (all but their STATE blocks) replayed at its
#   "-- REPLAY CODE" line.
SQL_SOURCES = $(sort $(wildcard src/sql/[0-9]*.sql))
SQL_DELTAS  = $(wildcard src/sql/upgrade/*--$(EXTVERSION).sql)
DATA        = $(wildcard src/sql/released/$(EXTENSION)--*.sql)
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql \
              $(patsubst src/sql/upgrade/%,$(EXTENSION)--%,$(SQL_DELTAS))

# pg_regress: sql/ + expected/, install first, uninstall last.
REGRESS     = install hardening_install contracts context updated_at updated_at_errors audit audit_errors \
              audit_statement audit_writer audit_evasion audit_queries audit_identity audit_keys \
              audit_drift audit_chain audit_forget audit_app audit_events audit_request orm_noop \
              orm_names orm_sync \
              soft_delete soft_delete_errors soft_delete_fk soft_delete_compose \
              soft_delete_rewrite soft_delete_unloaded soft_delete_cascade_sync soft_delete_hidden_update \
              tenant tenant_errors tenant_token tenant_safety tenant_migration tenant_shard_shape \
              soft_delete_shard_shape \
              preflight purge purge_security hardening_calls hardening_names uninstall
# Isolation tester: test/isolation/specs + test/isolation/expected.
ISOLATION      = updated_at_concurrent audit_concurrent audit_chain_concurrent \
                 soft_delete_concurrent soft_delete_rewrite_concurrent tenant_concurrent \
                 purge_concurrent purge_lock audit_app_concurrent \
                 audit_forget_concurrent
ISOLATION_OPTS = --inputdir=test/isolation
# TAP: test/t/*.pl with PostgreSQL::Test::Cluster.
TAP_TESTS   = 1
PROVE_TESTS = test/t/*.pl

PG_CONFIG  ?= pg_config
PG_CPPFLAGS = -I$(srcdir)/src
# Warnings are errors in every build (-Wno-unused-parameter only because the
# server headers' inline functions trip it).  ROWKEEPER_CFLAGS adds more,
# e.g. ROWKEEPER_CFLAGS=-DUSE_ASSERT_CHECKING.
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter $(ROWKEEPER_CFLAGS)

# a script that failed to build is not left behind as if it were built
.DELETE_ON_ERROR:

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(EXTENSION)--$(EXTVERSION).sql: src/sql/build.awk $(SQL_SOURCES)
	awk -f $< $(SQL_SOURCES) > $@

$(EXTENSION)--%--$(EXTVERSION).sql: src/sql/build.awk src/sql/upgrade/%--$(EXTVERSION).sql $(SQL_SOURCES)
	awk -v delta=1 -f $< $(filter-out $< src/sql/00_header.sql,$^) > $@

# Print a make variable (used by the test scripts): make -s print-REGRESS
print-%:
	@echo '$($*)'
