# build.awk: assemble an install or upgrade script from the living sources
# in src/sql/ (see src/sql/README.md).  Called by the Makefile:
#   awk -f src/sql/build.awk SOURCES...           the install script: every
#                                                 line of every source
#   awk -v delta=1 -f src/sql/build.awk DELTA SOURCES...
#                                                 an upgrade script: DELTA
#                                                 with its "-- REPLAY CODE"
#                                                 line replaced by the code
#                                                 of SOURCES (all but their
#                                                 STATE blocks)
# and, for both, checks that every object is defined once, and the
# contract that makes the replay safe: code is
# CREATE OR REPLACE (functions, procedures, views) with their grants and
# comments; everything else sits between "-- STATE BEGIN" and
# "-- STATE END" lines, which are balanced within each file.
FNR == 1 {
	if (state)
		fail(prev ": -- STATE BEGIN without -- STATE END")
	nfile++; prev = FILENAME
}
delta && nfile == 1 {
	if ($0 == "-- REPLAY CODE") { marks++; after = 1; next }
	if (after) post = post $0 "\n"; else print
	next
}
$0 == "-- STATE BEGIN" {
	if (state) fail(FILENAME ":" FNR ": nested -- STATE BEGIN")
	state = 1
	if (!delta) print
	next
}
$0 == "-- STATE END" {
	if (!state) fail(FILENAME ":" FNR ": -- STATE END without -- STATE BEGIN")
	state = 0
	if (!delta) print
	next
}
!state && /^(CREATE (FUNCTION|PROCEDURE|VIEW|TABLE|SEQUENCE|INDEX|UNIQUE|POLICY|EVENT|OPERATOR|TYPE|SCHEMA|ROLE|TRIGGER|DOMAIN|CAST)|ALTER |DROP |INSERT |UPDATE |DELETE |TRUNCATE |DO |SELECT pg_catalog\.(pg_extension_config_dump|setval))/ {
	fail(FILENAME ":" FNR ": outside a STATE block, only CREATE OR REPLACE code, GRANT, REVOKE and COMMENT: " $0)
}
# one definition per object in the living sources
/^CREATE (OR REPLACE )?(FUNCTION|PROCEDURE|VIEW|TABLE|SEQUENCE|EVENT TRIGGER|POLICY|OPERATOR CLASS) / {
	key = $0
	sub(/^CREATE (OR REPLACE )?/, "", key)
	sub(/[ \t]+AS[ \t]*$/, "", key)		# (a view's first line)
	sub(/[ \t]+$/, "", key)
	if (key in defined)
		fail(FILENAME ":" FNR ": " key " is defined again (first in " defined[key] ")")
	defined[key] = FILENAME ":" FNR
}
!delta || !state { print }
function fail(msg) {
	print "build.awk: " msg > "/dev/stderr"
	failed = 1
	exit 1
}
END {
	if (failed) exit 1
	if (state) fail(prev ": -- STATE BEGIN without -- STATE END")
	if (delta && marks != 1) fail("the upgrade delta needs exactly one -- REPLAY CODE line")
	printf "%s", post
}
