# Kaochang build. `make` builds build/kaochang and its data (build/share/kaochang);
# `make test` installs what is missing, builds (also an ASan/UBSan build), runs every test and
# ends with one line "N passed, N failed";
# `make demo` starts a private MariaDB and the server with demo data.

PREFIX  ?= /usr/local
CC      ?= cc
PKGS    := libwebsockets libmariadb jansson libcrypto libxml-2.0 libzip xlsxwriter libpcre2-8 libsodium
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lev -lpthread
ASAN    := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

MODULES := lib bank importers proctoring server server/net server/exam server/staff server/media server/cli
LIB_SRC := $(filter-out server/main.c,$(wildcard $(addsuffix /*.c,$(MODULES))))
HDRS    := $(wildcard $(addsuffix /*.h,$(MODULES)))
UNIT    := $(wildcard tests/unit/test_*.c)

B       := build
OBJ     := $(patsubst %.c,$(B)/obj/%.o,$(LIB_SRC) server/main.c)
AOBJ    := $(patsubst %.c,$(B)/asan/obj/%.o,$(LIB_SRC) server/main.c)
ALIB    := $(filter-out $(B)/asan/obj/server/main.o,$(AOBJ))
UNITBIN := $(patsubst tests/unit/%.c,$(B)/asan/tests/%,$(UNIT))
WEB     := $(shell find client-web -type f 2>/dev/null)

# libFuzzer: every tests/fuzz/fuzz_NAME.c, linked against all modules but server/ built
# with clang; each runs FUZZ_SECONDS on build/fuzz/corpus/NAME plus the committed seeds in
# tests/fuzz/corpus/NAME. A crash leaves its input in build/fuzz/crash-NAME-*.
FUZZ_SECONDS ?= 60
FUZZCC  ?= clang
FUZZSAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZBIN := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(FUZZ))
FOBJ    := $(patsubst %.c,$(B)/fuzz/obj/%.o,$(filter-out server/%,$(LIB_SRC)))

.PHONY: all asan deps deps-test test unit e2e demo install clean fuzz fuzz-smoke bench bench-delivery
all: $(B)/kaochang $(B)/share/kaochang/.stamp

$(B)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/asan/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN) -O1 -c $< -o $@

$(B)/kaochang: $(OBJ)
	$(CC) $(CFLAGS) $^ -o $@ $(LDLIBS)

$(B)/asan/kaochang: $(AOBJ) | $(B)/share/kaochang/.stamp
	$(CC) $(CFLAGS) $(ASAN) $^ -o $@ $(LDLIBS)
	@ln -sfn ../share $(B)/asan/share

# The browser client: HTML names its assets with a content hash (?v=), so assets can be
# cached for a year and a new build is still picked up at once.
$(B)/share/kaochang/.stamp: $(WEB) $(wildcard deploy/schema/*.sql)
	@rm -rf $(B)/share/kaochang && mkdir -p $(B)/share/kaochang/schema
	cp -r client-web $(B)/share/kaochang/www
	cp deploy/schema/*.sql $(B)/share/kaochang/schema/
	@v=$$(cat $$(find client-web/static -type f | sort) | sha256sum | cut -c1-12); \
	  for f in $$(find $(B)/share/kaochang/www -name '*.html'); do sed -i "s/__V__/$$v/g" $$f; done
	@touch $@

asan: $(B)/asan/kaochang $(UNITBIN)

$(B)/asan/tests/%: tests/unit/%.c $(ALIB) $(HDRS) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN) -O1 $(shell pkg-config --cflags criterion) $< $(ALIB) -o $@ \
	  $(shell pkg-config --libs criterion) $(LDLIBS)

$(B)/fuzz/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(CFLAGS) $(FUZZSAN) -fsanitize=fuzzer-no-link -O1 -c $< -o $@

$(B)/fuzz/%: tests/fuzz/%.c $(FOBJ) $(HDRS) $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZCC) $(CFLAGS) $(FUZZSAN) -fsanitize=fuzzer -O1 $< $(FOBJ) -o $@ $(LDLIBS)

.SECONDARY: $(FOBJ)
fuzz: $(FUZZBIN)
	@bash tests/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZBIN)

# The short run of `make test`.
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=10

# What `make`, `make demo` and `make install` need (Debian packages only), and on top of it
# what the tests need (deploy/install-deps.sh --test).
deps:
	@bash deploy/install-deps.sh

deps-test:
	@bash deploy/install-deps.sh --test

unit: $(UNITBIN)
	@bash tests/run-unit.sh $(UNITBIN)

e2e: all $(B)/asan/kaochang
	bash tests/run-e2e.sh $(B)/asan/kaochang

# Every suite runs even when one before it failed; each leaves its counts in $(B)/results
# and the last line is the sum over all of them ("N passed, N failed"). A suite that did not
# report counts as a failure.
test: deps-test
	@rm -rf $(B)/results
	$(MAKE) all asan
	-@KC_RESULTS=$(CURDIR)/$(B)/results $(MAKE) unit
	-@KC_RESULTS=$(CURDIR)/$(B)/results $(MAKE) fuzz-smoke
	-@KC_RESULTS=$(CURDIR)/$(B)/results $(MAKE) e2e
	@bash tests/summary.sh $(B)/results unit fuzz e2e ws browser durability

# Paper assembly at scale with the optimized build (tests/bench, docs/BENCHMARKS.md);
# not part of `make test`.
$(B)/bench/bench_gen: tests/bench/bench_gen.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< -o $@

$(B)/bench/bench_assemble: tests/bench/bench_assemble.c $(filter-out $(B)/obj/server/main.o,$(OBJ)) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $< $(filter %.o,$^) -o $@ $(LDLIBS)

# The delivery benchmark (tests/load, docs/BENCHMARKS.md "bench=delivery"): a load generator
# speaking the real protocol against `kaochang serve`; CANDIDATES and DURATION (seconds of
# the steady phase) size it. `make bench` runs both benchmarks.
CANDIDATES ?= 15000
DURATION   ?= 120
LOAD_SRC := $(wildcard tests/load/*.c)
$(B)/load/kc_load: $(LOAD_SRC) tests/load/ld.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LOAD_SRC) -o $@ -lcrypto

# The unit test compiles ld_proto.c itself.
$(B)/asan/tests/test_load: tests/load/ld_proto.c tests/load/ld.h

bench: all $(B)/bench/bench_gen $(B)/bench/bench_assemble $(B)/load/kc_load
	bash tests/bench/run-bench.sh $(B)/kaochang
	bash tests/load/run-delivery.sh --candidates $(CANDIDATES) --duration $(DURATION) $(B)/kaochang

bench-delivery: all $(B)/bench/bench_gen $(B)/load/kc_load
	bash tests/load/run-delivery.sh --candidates $(CANDIDATES) --duration $(DURATION) $(B)/kaochang

demo: deps
	$(MAKE) all
	bash deploy/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/kaochang
	install -m 755 $(B)/kaochang $(DESTDIR)$(PREFIX)/bin/kaochang
	cp -r $(B)/share/kaochang/www $(B)/share/kaochang/schema $(DESTDIR)$(PREFIX)/share/kaochang/

clean:
	rm -rf $(B)
