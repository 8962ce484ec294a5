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
CPPFLAGS = -D_GNU_SOURCE -Isrc/lib
CFLAGS   = -std=c11 -O2 -g $(WARN) $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS  = -Wl,--as-needed $(SANFLAGS)
LDLIBS   = -lcjson -lhiredis -lcrypto -lm
SANFLAGS_1 = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
SANFLAGS = $(SANFLAGS_$(SAN))

TOOLS    = $(patsubst src/%.c,%,$(wildcard src/*.c))
LIBSRC   = $(wildcard src/lib/*.c)
LIBOBJ   = $(patsubst src/lib/%.c,$(O)/lib/%.o,$(LIBSRC))
LIBHDR   = $(wildcard src/lib/*.h)
UNITSRC  = $(wildcard tests/unit/*.c)
UNITBIN  = $(patsubst tests/unit/%.c,$(O)/unit/%,$(UNITSRC))
SCRIPTS  = $(filter-out %.md,$(wildcard scripts/*.sh))

all: $(TOOLS:%=$(BINDIR)/%) $(UNITBIN)

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

# make install: the tools in $(PREFIX)/bin, pipeline.sh as callpipe-server (a wrapper that
# finds the tree through symlinks too), the stand-in as callpipe-standin, callpipe-demo;
# pipeline.sh, endpoints, static files, examples and the demo's helpers in
# $(PREFIX)/share/callpipe, laid out as in the source tree (bin there leads back to
# $(PREFIX)/bin). Every copy is checked: the first failure stops make.
SHARE   = $(DESTDIR)$(PREFIX)/share/callpipe
MAN1DIR = $(DESTDIR)$(PREFIX)/share/man/man1
MAN8DIR = $(DESTDIR)$(PREFIX)/share/man/man8
WRAPPERS = callpipe-server callpipe-demo

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(MAN1DIR) $(MAN8DIR) $(SHARE)/scripts $(SHARE)/tests/bin
	for t in $(TOOLS); do cp -f $(BINDIR)/$$t $(DESTDIR)$(PREFIX)/bin/$$t || exit 1; done
	for w in $(WRAPPERS); do \
	  cp -f scripts/$$w $(DESTDIR)$(PREFIX)/bin/$$w && \
	  chmod 0755 $(DESTDIR)$(PREFIX)/bin/$$w || exit 1; done
	cp -f man/*.1 $(MAN1DIR)/
	cp -f man/*.8 $(MAN8DIR)/
	ln -sf pipeline.sh.8 $(MAN8DIR)/callpipe-server.8
	cp -f pipeline.sh $(SHARE)/pipeline.sh
	chmod 0755 $(SHARE)/pipeline.sh
	cp -Rf endpoints cgi static examples $(SHARE)/
	cp -f scripts/demo.sh $(SHARE)/scripts/demo.sh
	cp -f tests/bin/dg-standin tests/bin/ws-client $(SHARE)/tests/bin/
	rm -f $(SHARE)/bin
	ln -s ../../bin $(SHARE)/bin
	ln -sf ../share/callpipe/tests/bin/dg-standin $(DESTDIR)$(PREFIX)/bin/callpipe-standin

uninstall:
	for t in $(TOOLS) $(WRAPPERS) callpipe-standin; do \
	  rm -f $(DESTDIR)$(PREFIX)/bin/$$t || exit 1; done
	for m in man/*.1; do rm -f $(MAN1DIR)/$${m#man/} || exit 1; done
	for m in man/*.8; do rm -f $(MAN8DIR)/$${m#man/} || exit 1; done
	rm -f $(MAN8DIR)/callpipe-server.8
	rm -rf $(SHARE)

clean:
	rm -rf build $(TOOLS:%=bin/%)

.PHONY: all san test deps demo bench bench-smoke fuzz install uninstall clean
