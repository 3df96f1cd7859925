# vfioctl: `make`, `make check`, `make install PREFIX=... DESTDIR=...`
VERSION    := 0.1.0
PREFIX     ?= /usr/local
SBINDIR    ?= $(PREFIX)/sbin
MANDIR     ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
UNITDIR    ?= $(PREFIX)/lib/systemd/system
DESTDIR    ?=

PKGS       := libkmod libudev popt libpci smartcols
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

CC         ?= cc
OPT        ?= -O2
CFLAGS     ?= -g
WARN       := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
              -Wno-format-nonliteral
HARDEN     := -D_FORTIFY_SOURCE=2 -fstack-protector-strong
ifeq ($(SANITIZE),1)
OPT        := -O1
SAN        := -fsanitize=address,undefined -fno-omit-frame-pointer \
              -fno-sanitize-recover=undefined
endif
ALL_CFLAGS := -std=gnu11 $(OPT) $(CFLAGS) $(WARN) $(HARDEN) $(SAN) \
              -DVFIOCTL_VERSION='"$(VERSION)"' -Ilib $(PKG_CFLAGS)
ALL_LDFLAGS := $(LDFLAGS) $(SAN) -pthread

# Objects of a sanitized build live apart so the two never mix.
B          := build$(if $(filter 1,$(SANITIZE)),-san)

LIB_SRC    := $(wildcard lib/*.c)
CLI_SRC    := $(wildcard cli/*.c)
UNIT_SRC   := $(wildcard tests/unit/test-*.c)
HELPER_SRC := $(wildcard tests/helpers/*.c)
BENCH_SRC  := $(wildcard bench/*.c)
LIB_OBJ    := $(LIB_SRC:%.c=$(B)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(B)/%.o)
UNIT_BIN   := $(UNIT_SRC:%.c=$(B)/%)
HELPER_BIN := $(HELPER_SRC:%.c=$(B)/%)
BENCH_BIN  := $(BENCH_SRC:%.c=$(B)/%)
LIBA       := $(B)/libvfioctl.a
MANPAGES   := $(wildcard man/*.8)

all: $(B)/vfioctl $(HELPER_BIN) $(UNIT_BIN) $(BENCH_BIN)
ifneq ($(SANITIZE),1)
all: vfioctl
endif

# ./vfioctl is the plain build; a sanitized one stays in build-san/.
vfioctl: build/vfioctl
	ln -sf $< $@

$(B)/vfioctl: $(CLI_OBJ) $(LIBA)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(LIBA): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(B)/lib/%.o: lib/%.c lib/vfioctl.h lib/internal.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fvisibility=hidden -c -o $@ $<

$(B)/lib/iommu%.o: lib/iommu-priv.h lib/uapi-iommufd.h
$(B)/lib/iopf-core.o $(B)/lib/iommufd-iopf.o: lib/iopf-priv.h lib/uapi-iopf.h lib/uapi-iommufd.h lib/iommu-priv.h

# every CLI header: a struct that changes under a stale object corrupts memory
$(B)/cli/%.o: cli/%.c $(wildcard cli/*.h) lib/vfioctl.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/%.c tests/unit/tap.h $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ilib -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(LIBA) $(PKG_LIBS)

# tests that see the IOPF core's private structs
$(B)/tests/unit/test-iopf $(B)/tests/helpers/iopf-mock: lib/iopf-priv.h lib/uapi-iopf.h lib/uapi-iommufd.h

# Benchmark baselines stand alone: no libvfioctl in what they measure against.
$(B)/bench/%: bench/%.c bench/raw-util.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# definitions only: bookworm's linux-libc-dev has no linux/iommufd.h
$(B)/bench/raw-ioas-map: lib/uapi-iommufd.h

# The CLI's pure arithmetic has unit tests too; they link its object.
CLI_PURE_OBJ := $(B)/cli/map-plan.o
$(B)/tests/unit/test-mapplan: tests/unit/test-mapplan.c tests/unit/tap.h $(CLI_PURE_OBJ) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Icli -Itests/unit $(ALL_LDFLAGS) -o $@ $< $(CLI_PURE_OBJ) $(LIBA) $(PKG_LIBS)

# ---- tests ------------------------------------------------------------------
check: check-fast check-vm

check-fast: check-unit check-bats check-man check-spec

check-unit: $(UNIT_BIN)
	tests/run-unit $(UNIT_BIN)

check-bats: $(B)/vfioctl
	VFIOCTL=$(CURDIR)/$(B)/vfioctl tests/roots/mkroots $(B)/roots
	VFIOCTL=$(CURDIR)/$(B)/vfioctl VFIOCTL_ROOTS=$(CURDIR)/$(B)/roots \
		bats --tap tests/bats

check-man: $(B)/vfioctl
	VFIOCTL=$(CURDIR)/$(B)/vfioctl tests/check-man $(MANPAGES)

check-spec:
	tests/check-spec vfioctl.spec $(VERSION)

check-vm: all
	tests/vm/check

# The main job on the emulated passthrough host (QEMU + emulated Intel IOMMU).
demo: all
	tests/vm/run --kernel 7 --script tests/demo.sh

# ---- install ----------------------------------------------------------------
install: $(B)/vfioctl
	install -D -m 0755 $(B)/vfioctl $(DESTDIR)$(SBINDIR)/vfioctl
	install -d $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man8/
	install -D -m 0644 completions/vfioctl.bash $(DESTDIR)$(BASHCOMPDIR)/vfioctl
	install -D -m 0644 completions/_vfioctl $(DESTDIR)$(ZSHCOMPDIR)/_vfioctl
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(SBINDIR)|g' cli/vfioctl-persist.service.in \
		>$(DESTDIR)$(UNITDIR)/vfioctl-persist.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/vfioctl-persist.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/vfioctl $(DESTDIR)$(BASHCOMPDIR)/vfioctl \
	      $(DESTDIR)$(ZSHCOMPDIR)/_vfioctl $(DESTDIR)$(UNITDIR)/vfioctl-persist.service
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MANPAGES)))

dist:
	git archive --prefix=vfioctl-$(VERSION)/ -o vfioctl-$(VERSION).tar.gz HEAD

clean:
	rm -rf build build-san vfioctl vfioctl-*.tar.gz

.PHONY: all check check-fast check-unit check-bats check-man check-spec check-vm demo \
	install uninstall dist clean
.DELETE_ON_ERROR:
