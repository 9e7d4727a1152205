# balena-compose. `make` builds, `make check` tests, `make demo` shows it run.
CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
SAN     ?=
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Werror
CFLAGS  ?= -O2 -g
# -fPIC: the library's objects go into the shared library too
override CFLAGS += -std=gnu11 -D_GNU_SOURCE -I. $(WARN) -MMD -MP -fPIC
ifeq ($(SAN),1)
override CFLAGS += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=address,undefined
endif
# --as-needed: each binary links only the libraries it really calls
# (libcurl only where HTTP is needed).
override LDFLAGS += -Wl,--as-needed
# '=' not ':=': pkg-config runs when a link runs, after `make deps` has
# installed the -dev packages, not when make parses this file (on a fresh
# machine they are not there yet).
LDLIBS   = $(shell pkg-config --libs libcurl jansson msgpack yaml-0.1 libzstd zlib libarchive) -lnng -lm

DAEMONS := fetcher reconciler locker logger gateway
LIBSRC  := $(wildcard lib/*/*.c) $(wildcard proto/*.c)
LIBOBJ  := $(LIBSRC:%.c=$(BUILD)/obj/%.o)
# the library: every daemon, the CLI and the tests link the archive; the
# Composer API (include/balena-compose.h) is also a shared library of that
# version, exporting bc_composer_* only, found through balena-compose.pc
VERSION := 0.1.0
LIBA    := $(BUILD)/libbalena-compose.a
SONAME  := libbalena-compose.so.0
LIBSO   := $(BUILD)/libbalena-compose.so.$(VERSION)
PCLIBS  := -lcurl -ljansson -lmsgpackc -lyaml -lzstd -lz -larchive -lnng -lm
BINS    := $(DAEMONS:%=$(BUILD)/bin/bc-%) $(BUILD)/bin/balena-compose $(BUILD)/bin/bc-regsize
UNITSRC := $(wildcard tests/unit/test_*.c)
UNITS   := $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)
INTEGSRC:= $(wildcard tests/integ/test_*.c)
INTEGS  := $(INTEGSRC:tests/integ/%.c=$(BUILD)/tests/%) $(BUILD)/tests/rawreq $(BUILD)/tests/sub
FUZZSRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS := $(FUZZSRC:tests/fuzz/%.c=build/fuzz/%)

.PHONY: demo-stop format all deps check unit unit-asan oracles integ fuzz fuzz-smoke fuzz-run demo install scandir clean bench start stop

all: $(BINS) $(BUILD)/scandir/.stamp $(BUILD)/examples/composer-example $(LIBSO) \
  $(BUILD)/pkgconfig/balena-compose.pc

# the shared library: the Composer's objects and what they pull from the
# archive; only the API is exported (tools/libbalena-compose.map)
$(LIBSO): $(BUILD)/obj/lib/ipc/composer.o $(LIBA) tools/libbalena-compose.map
	$(CC) $(LDFLAGS) -shared -Wl,-soname,$(SONAME) \
	  -Wl,--version-script=tools/libbalena-compose.map -o $@ \
	  $(BUILD)/obj/lib/ipc/composer.o $(LIBA) $(LDLIBS)
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libbalena-compose.so

# pkg-config: for the build tree (libdir the build, the headers in
# include/) here; make install writes one for PREFIX
$(BUILD)/pkgconfig/balena-compose.pc: tools/balena-compose.pc.in Makefile
	@mkdir -p $(@D)
	sed -e 's|@LIBDIR@|$(abspath $(BUILD))|' -e 's|@INCLUDEDIR@|$(abspath include)|' \
	  -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(PCLIBS)|' $< >$@

$(BUILD)/examples/composer-example: $(BUILD)/obj/examples/composer.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/examples/%.o: examples/%.c Makefile
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Iinclude -c -o $@ $<

# the flags are here: an object is rebuilt when they change
$(BUILD)/obj/%.o: %.c Makefile
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBA): $(LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

# a daemon is every .c file in services/<name>/ plus the library
define daemon_rule
$(BUILD)/bin/bc-$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard services/$(1)/*.c)) $(LIBA)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rule,$(d))))

# the fetcher's helper for registry manifests (HTTPS): the only program
# that links libcurl, so that no daemon does (the gateway's HTTPS is nng's)
$(BUILD)/bin/bc-regsize: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard services/fetcher/regsize/*.c)) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bin/balena-compose: $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard cli/*.c)) $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(BUILD)/tests/%: $(BUILD)/obj/tests/integ/%.o $(LIBA)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The plain s6-svscan scan directory, generated from s6-rc.d/ (Debian 12 has
# s6 but not s6-rc). This one runs the daemons from the build tree.
$(BUILD)/scandir/.stamp: $(wildcard s6-rc.d/*/*) tools/s6rc2scandir.sh
	tools/s6rc2scandir.sh s6-rc.d $(BUILD)/scandir $(abspath $(BUILD)/bin)
	@touch $@
scandir: $(BUILD)/scandir/.stamp

deps:
	@tools/deps.sh

# every program, even after one failed (make check adds them all up)
unit: $(UNITS)
	@rc=0; for t in $(UNITS); do echo "== $$t"; $$t || rc=1; done; exit $$rc

unit-asan:
	$(MAKE) BUILD=build/asan SAN=1 unit

# the tables the unit tests compare with, made again by the reference
# packages themselves (node's semver, @balena/contrato; npm registry)
oracles:
	tests/contracts/check.sh $(BUILD)

integ: all $(INTEGS)
	tests/harness/run-integ.sh $(BUILD)

# libFuzzer targets: every decoder of outside input.
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -I. -g -O1 -fsanitize=fuzzer,address,undefined
build/fuzz/%: tests/fuzz/%.c $(LIBSRC)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< $(LIBSRC) $(LDLIBS)
fuzz: $(FUZZERS)
# A few seconds each, inside `make check`, to catch regressions.
fuzz-smoke: fuzz
	tools/fuzz.sh 10 $(FUZZERS)
# The full run the issue asks for: FUZZ_SECONDS (default 60) each.
FUZZ_SECONDS ?= 60
fuzz-run: fuzz
	tools/fuzz.sh $(FUZZ_SECONDS) $(FUZZERS)

# all, unit, unit-asan, fuzz-smoke and integ, each run whatever came
# before, then one line adding them up: "P passed, F failed, S skipped"
check: deps
	tests/harness/check-all.sh "$(MAKE)"

# deps first, then a new make for the build (nothing here may depend on what
# deps installs before it has run)
demo: deps
	$(MAKE) all
	tools/demo.sh $(BUILD)

demo-stop:
	tools/demo.sh $(BUILD) --stop

# the agent alone, whatever the mode (config.json says: local or cloud),
# and its stop (the apps run on)
start: deps
	$(MAKE) all
	tools/demo.sh $(BUILD) --start

stop:
	tools/demo.sh $(BUILD) --stop-agent

# every bench, then one table of the figures and their targets
bench: all $(BUILD)/tests/sub
	bench/all $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/balena-compose \
	  $(DESTDIR)$(PREFIX)/share/balena-compose
	install -m 0755 $(BUILD)/bin/balena-compose $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 0644 include/balena-compose.h $(DESTDIR)$(PREFIX)/include/
	install -m 0644 $(LIBA) $(DESTDIR)$(PREFIX)/lib/libbalena-compose.a
	install -m 0755 $(LIBSO) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(LIBSO)) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/libbalena-compose.so
	sed -e 's|@LIBDIR@|$(PREFIX)/lib|' -e 's|@INCLUDEDIR@|$(PREFIX)/include|' \
	  -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(PCLIBS)|' \
	  tools/balena-compose.pc.in >$(DESTDIR)$(PREFIX)/lib/pkgconfig/balena-compose.pc
	install -m 0755 $(DAEMONS:%=$(BUILD)/bin/bc-%) $(BUILD)/bin/bc-regsize \
	  $(DESTDIR)$(PREFIX)/libexec/balena-compose/
	cp -R s6-rc.d $(DESTDIR)$(PREFIX)/share/balena-compose/
	sed -i 's|@LIBEXECDIR@|$(PREFIX)/libexec/balena-compose|g' \
	  $(DESTDIR)$(PREFIX)/share/balena-compose/s6-rc.d/*/run
	tools/s6rc2scandir.sh s6-rc.d $(DESTDIR)$(PREFIX)/share/balena-compose/scandir \
	  $(PREFIX)/libexec/balena-compose

SOURCES := $(wildcard proto/*.[ch] lib/*/*.[ch] cli/*.c services/*/*.c services/*/*/*.c tests/*/*.c include/*.h)
format:
	clang-format -i $(SOURCES)

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/*/*/*.d $(BUILD)/obj/*/*/*/*.d)
