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

test: deps lint build unit integration ui-test

lint:
	@t/bin/lint

$(BUILD)/unit/check_%: t/unit/check_%.c $(PURE_SRCS) $(wildcard src/hydra_*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(PURE_SRCS) $(UNIT_LIBS)

unit: $(UNIT_BINS)
	@rc=0; for t in $(UNIT_BINS); do \
	    CK_VERBOSITY=normal $$t || rc=1; done; exit $$rc

integration: build
	cd t && MODULE=$(abspath $(MODULE)) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider --ignore=test_ui.py

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

install: build
	install -D -m 0644 $(MODULE) \
	    $(DESTDIR)/usr/lib/nginx/modules/ngx_http_hydra_module.so
	install -d $(DESTDIR)/etc/nginx/modules-enabled
	echo 'load_module modules/ngx_http_hydra_module.so;' \
	    > $(DESTDIR)/etc/nginx/modules-enabled/50-mod-http-hydra.conf

clean:
	rm -rf $(BUILD)
