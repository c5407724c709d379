# escrowpay: PGXS build.  The version lives only in escrowpay.control; the
# install script of that version is generated here by concatenating
# src/sql/*.sql in order.  Install scripts of released versions
# (escrowpay--X.Y.Z.sql) are frozen in the tree as they shipped, beside the
# upgrade scripts (escrowpay--A--B.sql); all of them are installed.  The
# upgrade script from the previous release to this version is generated
# from the state migration src/upgrade/A--$(EXTVERSION).sql and the code in
# src/sql (scripts/upgrade_script.pl; docs/operations.md "Upgrading").

EXTENSION   = escrowpay
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" $(EXTENSION).control)

MODULE_big  = escrowpay
OBJS        = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
SQL_SOURCES = $(sort $(wildcard src/sql/*.sql))
UPGRADE_STATE = $(wildcard src/upgrade/*--$(EXTVERSION).sql)
UPGRADE_BUILT = $(patsubst src/upgrade/%,$(EXTENSION)--%,$(UPGRADE_STATE))
DATA_built  = $(EXTENSION)--$(EXTVERSION).sql $(UPGRADE_BUILT)
DATA        = $(filter-out $(DATA_built),$(wildcard $(EXTENSION)--*.sql))
SHLIB_LINK  = -lcrypto
# the version the library's messages name (an old schema under a new library)
PG_CPPFLAGS = -DEP_VERSION='"$(EXTVERSION)"'
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-sign-compare \
              -Wno-missing-field-initializers

REGRESS       = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS  = --load-extension=$(EXTENSION)
ISOLATION     = $(patsubst test/isolation/specs/%.spec,%,$(sort $(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(EXTENSION)
TAP_TESTS     = 1
PROVE_TESTS   = test/t/*.pl

EXTRA_CLEAN = results/ output_iso/ tmp_check/ log/ regression.diffs regression.out

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# `make installcheck` runs regress and isolation against the server of
# PGHOST/PGPORT as PGUSER, then the Perl TAP tests, which start their own
# clusters.  PostgreSQL refuses to run as root, so as root the TAP tests run
# as `postgres` in a postgres-owned copy of the tree.
ifeq ($(shell id -u),0)
define prove_installcheck
PROVE_FLAGS='$(PROVE_FLAGS)' '$(CURDIR)/scripts/tap-as-postgres.sh' $(PROVE_TESTS)
endef
endif

# every object depends on every header: few enough that this costs nothing
$(OBJS): $(wildcard src/*.h)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_SOURCES) $(EXTENSION).control
	cat $(SQL_SOURCES) > $@

$(UPGRADE_BUILT): $(EXTENSION)--%--$(EXTVERSION).sql: src/upgrade/%--$(EXTVERSION).sql \
		$(SQL_SOURCES) scripts/upgrade_script.pl $(EXTENSION).control
	scripts/upgrade_script.pl $* $(EXTVERSION) $< $(SQL_SOURCES) > $@.tmp
	mv $@.tmp $@

.PHONY: deps deps-package deb demo test bench soak diagram
deps:
	scripts/deps.sh

# the Debian packaging tools too (dpkg-buildpackage, pg_buildext, lintian)
deps-package:
	scripts/deps.sh --package

# build the Debian package from a copy of the tree into debs/
deb: deps-package
	scripts/deb.sh debs

# demo and test install what they need, build and install first (one line
# per step; V=1 shows every command's output, which is also in log/)
demo:
	@scripts/demo.sh

test:
	@scripts/test.sh

bench: deps
	$(MAKE) all install
	bench/run.sh

diagram: deps
	$(MAKE) all install
	scripts/diagram.sh

# the whole suite with long runs of the reliability tests (test/t/003..006,
# docs/reliability.md); ESCROWPAY_SEED=n makes a run repeatable
soak:
	@ESCROWPAY_SOAK=1 scripts/test.sh
