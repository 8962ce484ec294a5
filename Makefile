# callpipe: every src/<tool>.c becomes bin/<tool>, linked with the shared library src/lib.
# Variants build into their own object trees: O=build/rel (bin/), O=build/san (ASan+UBSan).
.SUFFIXES:
# keep object files: they are not throw-away intermediates
.SECONDARY:

PREFIX  ?= /usr/local
DESTDIR ?=
O       ?= build/rel
BINDIR  ?= bin
SAN     ?=

WARN     = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral
CPPFLAGS = -D_GNU_SOURCE -Isrc/lib $(CURL_CFLAGS)
CFLAGS   = -std=c11 -O2 -g $(WARN) $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS  = -Wl,--as-needed $(SANFLAGS)
LDLIBS   = -lcjson $(CURL_LIBS) -lhiredis -lcrypto -lm
SANFLAGS_1 = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SANFLAGS = $(SANFLAGS_$(SAN))

CURL_CFLAGS := $(shell curl-config --cflags 2>/dev/null)
CURL_LIBS   := $(shell curl-config --libs 2>/dev/null || echo -lcurl)

TOOLS    = $(patsubst src/%.c,%,$(wildcard src/*.c))
LIBSRC   = $(wildcard src/lib/*.c)
LIBOBJ   = $(patsubst src/lib/%.c,$(O)/lib/%.o,$(LIBSRC))
LIBHDR   = $(wildcard src/lib/*.h)
UNITSRC  = $(wildcard tests/unit/*.c)
UNITBIN  = $(patsubst tests/unit/%.c,$(O)/unit/%,$(UNITSRC))
SCRIPTS  = $(filter-out %.md,$(wildcard scripts/*.sh))

all: check-curl $(TOOLS:%=$(BINDIR)/%) $(UNITBIN)

check-curl:
	@curl-config --protocols 2>/dev/null | grep -qx WSS || { \
	  echo "callpipe: fatal: libcurl lacks WebSocket (ws/wss) support: run 'make deps' (installs libcurl4-openssl-dev from $$(. /etc/os-release; echo $$VERSION_CODENAME)-backports)" >&2; exit 1; }

$(O)/lib/%.o: src/lib/%.c $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(O)/libcp.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

$(O)/tool/%.o: src/%.c $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BINDIR)/%: $(O)/tool/%.o $(O)/libcp.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(O)/libcp.a $(LDLIBS)

$(O)/unit/%: tests/unit/%.c $(O)/libcp.a $(LIBHDR)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(O)/libcp.a $(LDLIBS)

# The sanitizer build: same sources, own object tree and bin directory.
san:
	$(MAKE) O=build/san BINDIR=build/san/bin SAN=1 all

# make test: the whole suite, once on the normal build and once under ASan+UBSan.
test: all san
	sh tests/run

deps:
	sh scripts/deps.sh

demo: all
	sh scripts/demo.sh

bench: all
	sh bench/run.sh

bench-smoke: all
	sh bench/run.sh --smoke

fuzz:
	sh fuzz/run.sh $(FUZZ_SECONDS)

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man8
	for t in $(TOOLS); do cp -f $(BINDIR)/$$t $(DESTDIR)$(PREFIX)/bin/$$t; done
	for m in man/*.1; do [ -f "$$m" ] && cp -f $$m $(DESTDIR)$(PREFIX)/share/man/man1/ || :; done
	for m in man/*.8; do [ -f "$$m" ] && cp -f $$m $(DESTDIR)$(PREFIX)/share/man/man8/ || :; done
	if [ -f pipeline.sh ]; then \
	  mkdir -p $(DESTDIR)$(PREFIX)/share/callpipe && \
	  cp -f pipeline.sh $(DESTDIR)$(PREFIX)/bin/pipeline.sh && \
	  cp -Rf endpoints cgi static $(DESTDIR)$(PREFIX)/share/callpipe/ 2>/dev/null || :; fi

clean:
	rm -rf build $(TOOLS:%=bin/%)

.PHONY: all check-curl san test deps demo bench bench-smoke fuzz install clean
