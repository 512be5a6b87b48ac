# ngx_http_hydra_module: build, run and test.
#
#   make run     install what is missing, build, start nginx + UI + demo fleet
#   make test    install what is missing, then run every test
#   make ui      the React dashboard: npm ci, then ui/dist
#
# NGINX_SRC=... builds against another nginx source tree.

SHELL       := /bin/bash
NGINX_SRC   ?= /usr/share/nginx/src
NGINX_BIN   ?= /usr/sbin/nginx
BUILD       ?= build
PYTHON      ?= /usr/bin/python3
CC          ?= cc

MODULE      := $(BUILD)/ngx_http_hydra_module.so
OBJS_DIR    := $(abspath $(BUILD))/objs
SRC_COPY    := $(abspath $(BUILD))/nginx-src
MODULE_SRCS := config ngx_http_hydra_module.c $(wildcard src/*.c src/*.h)

PURE_SRCS   := $(wildcard src/hydra_*.c)
UNIT_SRCS   := $(wildcard t/unit/check_*.c)
UNIT_BINS   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
UNIT_CFLAGS := -std=c99 -D_POSIX_C_SOURCE=200809L -g -O1 -Wall -Wextra \
               -Werror -Isrc $(shell pkg-config --cflags check yajl 2>/dev/null)
UNIT_LIBS   := $(shell pkg-config --libs check yajl 2>/dev/null)

# t/fuzz: a libFuzzer target per parser (clang), each also linked with
# t/fuzz/replay.c (any cc) to replay its corpus and regressions in unit
FUZZ_NAMES  := $(patsubst t/fuzz/fuzz_%.c,%,$(wildcard t/fuzz/fuzz_*.c))
REPLAY_BINS := $(patsubst %,$(BUILD)/unit/replay_%,$(FUZZ_NAMES))
PURE_DEPS   := $(PURE_SRCS) $(wildcard src/hydra*.h) t/fuzz/fuzz.h

# The demo and the knobs of DESIGN.md section 6.
PORT        ?= 8080
WORKERS     ?= 2
SUPERVISOR  ?=
REPOS       ?=
SESSIONS    ?=

export PYTHON NGINX_BIN

.PHONY: all build deps deps-bench deps-node deps-ui run test unit lint \
        integration bench install clean ui ui-dist ui-test ui-unit \
        ui-browser

all: build

build: $(MODULE)

deps:
	@t/bin/deps core

deps-bench:
	@t/bin/deps bench

deps-node:
	@t/bin/deps node

deps-ui:
	@t/bin/deps ui

$(OBJS_DIR)/Makefile: config
	rm -rf $(SRC_COPY) $(OBJS_DIR)
	mkdir -p $(BUILD)
	cp -r $(NGINX_SRC) $(SRC_COPY)
	cd $(SRC_COPY) && flags=(--with-compat) \
	    && if [ -f conf_flags ]; then . ./conf_flags; \
	           flags=("$${NGX_CONF_FLAGS[@]}"); fi \
	    && ./configure "$${flags[@]}" \
	        --add-dynamic-module=$(CURDIR) --builddir=$(OBJS_DIR) \
	        --with-cc-opt="$$(dpkg-buildflags --get CFLAGS) -fPIC" \
	        --with-ld-opt="$$(dpkg-buildflags --get LDFLAGS) -fPIC" \
	        > $(OBJS_DIR).configure.log \
	    || { tail -30 $(OBJS_DIR).configure.log; exit 1; }

$(MODULE): $(OBJS_DIR)/Makefile $(MODULE_SRCS)
	$(MAKE) -s -f $(OBJS_DIR)/Makefile -C $(SRC_COPY) modules
	@# a new file, renamed into place: a running nginx keeps the old one
	cp $(OBJS_DIR)/ngx_http_hydra_module.so $@.tmp && mv -f $@.tmp $@

run: deps build ui-dist
	@PORT=$(PORT) WORKERS=$(WORKERS) SUPERVISOR="$(SUPERVISOR)" \
	    REPOS="$(REPOS)" SESSIONS="$(SESSIONS)" \
	    MODULE=$(abspath $(MODULE)) $(PYTHON) t/bin/run.py

test: deps lint build unit unit-sanitize integration test-sanitize ui-test

lint:
	@t/bin/lint

$(BUILD)/unit/check_%: t/unit/check_%.c $(PURE_SRCS) $(wildcard src/hydra_*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(PURE_SRCS) $(UNIT_LIBS)

$(BUILD)/unit/replay_%: t/fuzz/fuzz_%.c t/fuzz/replay.c $(PURE_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -It/fuzz -o $@ t/fuzz/replay.c $< $(PURE_SRCS) \
	    $(UNIT_LIBS)

unit: $(UNIT_BINS) $(REPLAY_BINS)
	@rc=0; for t in $(UNIT_BINS); do \
	    CK_VERBOSITY=normal $$t || rc=1; done; \
	for n in $(FUZZ_NAMES); do \
	    $(BUILD)/unit/replay_$$n $$(ls -d t/fuzz/corpus/$$n \
	        t/fuzz/regress/$$n 2>/dev/null) || rc=1; done; exit $$rc

# make fuzz: every target for FUZZ_TIME seconds from its committed
# corpus and regressions; what it finds goes to build/fuzz, and a crash
# fails the run with the path of its reproducer
FUZZ_CC     ?= clang-14
FUZZ_TIME   ?= 20
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer
FUZZ_CFLAGS := $(UNIT_CFLAGS) -It/fuzz $(FUZZ_SAN)
FUZZ_LIBS   := $(shell pkg-config --libs yajl 2>/dev/null) -lm
FUZZ_OBJS   := $(patsubst src/%.c,$(BUILD)/fuzz/obj/%.o,$(PURE_SRCS))
FUZZ_BINS   := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))

# make unit-sanitize: the unit tests and the replays under ASan, UBSan
# and LeakSanitizer, unforked so that a leak is seen where it is made
# (gcc's ASan instrumentation hides from it that a loop runs at least
# once: -Wmaybe-uninitialized then warns of what cannot happen)
SAN_CFLAGS  := $(UNIT_CFLAGS) -It/fuzz $(FUZZ_SAN) \
               $(if $(findstring clang,$(CC)),,-Wno-maybe-uninitialized)
SAN_OBJS    := $(patsubst src/%.c,$(BUILD)/unit-asan/obj/%.o,$(PURE_SRCS))
SAN_BINS    := $(patsubst t/unit/%.c,$(BUILD)/unit-asan/%,$(UNIT_SRCS)) \
               $(patsubst %,$(BUILD)/unit-asan/replay_%,$(FUZZ_NAMES))
SAN_ENV     := CK_FORK=no CK_VERBOSITY=normal \
               ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
               UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: deps-sanitize fuzz fuzz-build unit-sanitize
.SECONDARY: $(FUZZ_OBJS) $(SAN_OBJS)

deps-sanitize:
	@t/bin/deps sanitize

$(BUILD)/fuzz/obj/%.o: src/%.c $(PURE_DEPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(BUILD)/fuzz/fuzz_%: t/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) \
	    $(FUZZ_LIBS)

fuzz-build: deps-sanitize
	@$(MAKE) --no-print-directory $(FUZZ_BINS)

fuzz: fuzz-build
	@t/bin/fuzz $(FUZZ_TIME) $(BUILD)/fuzz $(FUZZ_NAMES)

$(BUILD)/unit-asan/obj/%.o: src/%.c $(PURE_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(SAN_CFLAGS) -c -o $@ $<

$(BUILD)/unit-asan/check_%: t/unit/check_%.c $(SAN_OBJS)
	$(CC) $(SAN_CFLAGS) -o $@ $< $(SAN_OBJS) $(UNIT_LIBS) -lm

$(BUILD)/unit-asan/replay_%: t/fuzz/fuzz_%.c t/fuzz/replay.c $(SAN_OBJS)
	$(CC) $(SAN_CFLAGS) -o $@ t/fuzz/replay.c $< $(SAN_OBJS) \
	    $(UNIT_LIBS) -lm

unit-sanitize: deps-sanitize
	@$(MAKE) --no-print-directory $(SAN_BINS)
	@rc=0; for t in $(filter $(BUILD)/unit-asan/check_%,$(SAN_BINS)); do \
	    $(SAN_ENV) $$t || rc=1; done; \
	for n in $(FUZZ_NAMES); do \
	    $(SAN_ENV) $(BUILD)/unit-asan/replay_$$n $$(ls -d \
	        t/fuzz/corpus/$$n t/fuzz/regress/$$n 2>/dev/null) || rc=1; \
	done; exit $$rc

integration: build
	cd t && MODULE=$(abspath $(MODULE)) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider --ignore=test_ui.py

# The integration suite with every nginx under valgrind memcheck: a test
# fails on any memory error or definite leak (t/valgrind.supp holds only
# nginx's own).  VALGRIND_TESTS=... runs some files or tests only.
VALGRIND_TESTS ?=
.PHONY: deps-valgrind test-sanitize integration-valgrind

deps-valgrind:
	@t/bin/deps valgrind

test-sanitize integration-valgrind: deps deps-valgrind build
	cd t && HYDRA_VALGRIND=1 MODULE=$(abspath $(MODULE)) $(PYTHON) -m pytest \
	    -q -p no:cacheprovider --ignore=test_ui.py $(VALGRIND_TESTS)

# The React dashboard (ui/): its npm packages as locked, then ui/dist.
ui: deps-node
	cd ui && npm ci --no-audit --no-fund && npm run build

# ui/dist only when it is missing (make run)
ui-dist:
	@[ -f ui/dist/index.html ] || $(MAKE) --no-print-directory ui

ui-test: ui-unit ui-browser

# vitest: the UI's logic
ui-unit: ui
	cd ui && npm test

# Debian's Chromium through playwright-core against nginx + module + fakes
ui-browser: deps-ui ui build
	cd t && UI_TEST_REQUIRED=1 MODULE=$(abspath $(MODULE)) $(PYTHON) \
	    -m pytest -q -p no:cacheprovider test_ui.py

bench: deps deps-bench build
	MODULE=$(abspath $(MODULE)) $(PYTHON) bench/run.py

# 10,000 WebSocket clients and the aggregated views under wrk, 2 workers:
# figures only (bench/README.md, "load"); about 3 minutes
.PHONY: bench-load
bench-load: deps deps-bench build
	MODULE=$(abspath $(MODULE)) $(PYTHON) bench/load.py

install: build
	install -D -m 0644 $(MODULE) \
	    $(DESTDIR)/usr/lib/nginx/modules/ngx_http_hydra_module.so
	install -d $(DESTDIR)/etc/nginx/modules-enabled
	echo 'load_module modules/ngx_http_hydra_module.so;' \
	    > $(DESTDIR)/etc/nginx/modules-enabled/50-mod-http-hydra.conf

clean:
	rm -rf $(BUILD)
