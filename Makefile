# modx build. One build of everything under src/; each target below first runs
# scripts/setup.sh, which installs whatever Debian/npm packages are missing.
#
#   make            build build/modx, the libraries and the test binary
#   make install    install include/modx.h, libmodx.so (+ soname links), libmodx.a
#                   and modx.pc under PREFIX (/usr/local), honouring DESTDIR
#   make uninstall  remove what make install put there
#   make test       build and run the whole suite (closes with "N passed, N failed")
#   make asan       the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo       the default continual experiment on the embedded emoji data
#   make bench      build and run the benchmarks in bench/
#   make fuzz       build the libFuzzer targets (clang) into build-fuzz/
#   make fuzz-run   build them and run each for FUZZ_SECONDS (default 30), printing executions and coverage

CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -march=native -g
SAN      ?=
NPROC    := $(shell nproc 2>/dev/null || echo 2)
# ompi-c: Open MPI (core/dist.c); without mpirun modx never initialises it.
PKGS     := libcjson spng libjpeg zlib libutf8proc libarchive libwebp ompi-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcjson -lspng -ljpeg -lz -lutf8proc -larchive -lwebp -lmpi)
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter \
            -Iinclude -Isrc -fopenmp $(PKG_CFLAGS) $(OPT) $(SAN) -MMD -MP
# OpenBLAS: the OpenMP build (Debian's libopenblas-openmp-dev), linked by path
# with an rpath so the alternatives system does not matter; BLAS then shares our
# OpenMP thread pool (the pthreads build's threads oversubscribe the cores and
# make OpenMP's waiting threads spin against them). Falls back to -lopenblas.
BLAS_DIR ?= /usr/lib/x86_64-linux-gnu/openblas-openmp
BLAS_RPATH := -Wl,-rpath,$(BLAS_DIR)
BLAS_LIBS := $(if $(wildcard $(BLAS_DIR)/libopenblas.so),-L$(BLAS_DIR) $(BLAS_RPATH)) -lopenblas
# oneDNN (Debian's libdnnl-dev, built on OpenMP) behind src/core/gemm.c: every
# single-precision product and the bf16 one; OpenBLAS keeps the double-precision
# products and LAPACK of the analysis and linear probe.
LDLIBS   += $(PKG_LIBS) -ldnnl $(BLAS_LIBS) -lm -lpthread
LDFLAGS  += -fopenmp $(SAN)

PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# The library version lives once, in include/modx.h; the soname carries the major.
VERSION  := $(shell sed -n 's/^\#define MODX_VERSION_STRING "\([0-9.]*\)"/\1/p' include/modx.h)
SONAME   := libmodx.so.$(firstword $(subst ., ,$(VERSION)))
SOFILE   := libmodx.so.$(VERSION)

LIB_SRC  := $(shell find src -name '*.c' -not -path 'src/cli/*' | sort)
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/test_*.c)) tests/harness.c
BENCH_SRC:= $(sort $(wildcard bench/*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/commands.o
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

.PHONY: all build setup test asan demo bench fuzz fuzz-run clean install uninstall
.DEFAULT_GOAL := all

all: setup
	@$(MAKE) --no-print-directory -j$(NPROC) build

build: $(BUILD)/modx $(BUILD)/tests/unit $(BENCH_BIN) $(FUZZ_BIN) $(BUILD)/libmodx.a $(BUILD)/$(SOFILE)

setup:
	@bash scripts/setup.sh build

# Libraries. The library objects are position-independent and built with
# -fvisibility=hidden: only what include/modx.h marks MODX_API is public.
#   libmodx_internal.a  every internal symbol; what the CLI, tests, benches and
#                       fuzzers link (they call internals)
#   libmodx.so.X.Y.Z    the shared library, soname libmodx.so.X, exporting only
#                       the modx_ API (src/api/libmodx.map)
#   libmodx.a           the installable static library: the objects linked into
#                       one (ld -r) with the hidden symbols made local, so its
#                       only global symbols are the modx_ API
$(LIB_OBJ): CFLAGS += -fPIC -fvisibility=hidden
# (a build directory from before these flags is rebuilt once: the stamp is newer)
$(LIB_OBJ): $(BUILD)/obj/.pic-hidden
$(BUILD)/obj/.pic-hidden:
	@mkdir -p $(@D) && touch $@

$(BUILD)/libmodx_internal.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/$(SOFILE): $(LIB_OBJ) src/api/libmodx.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/api/libmodx.map $(if $(SAN),,-Wl,--no-undefined) \
	  $(LDFLAGS) -o $@ $(LIB_OBJ) $(LDLIBS)
	ln -sf $(SOFILE) $(BUILD)/$(SONAME) && ln -sf $(SONAME) $(BUILD)/libmodx.so

$(BUILD)/libmodx.a: $(LIB_OBJ)
	rm -f $@ $(BUILD)/libmodx.o
	$(LD) -r -o $(BUILD)/libmodx.o $^
	objcopy --localize-hidden $(BUILD)/libmodx.o
	ar rcs $@ $(BUILD)/libmodx.o && rm -f $(BUILD)/libmodx.o

$(BUILD)/modx: $(CLI_OBJ) $(BUILD)/libmodx_internal.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit: $(TEST_OBJ) $(BUILD)/libmodx_internal.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libmodx_internal.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets with the plain-main driver (the suite replays their seeds).
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/driver.o $(BUILD)/libmodx_internal.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The subcommand table: every MODX_COMMAND(ident, ...) in src/cli/cmd_*.c.
$(BUILD)/gen/commands.c: $(CLI_SRC)
	@mkdir -p $(@D)
	@{ echo '#include "cli/cli.h"'; \
	   idents=$$(grep -ho '^MODX_COMMAND([a-z0-9_]*' $(CLI_SRC) | sed 's/MODX_COMMAND(//' | sort); \
	   for i in $$idents; do echo "extern const CliCommand cli_command_$$i;"; done; \
	   echo 'const CliCommand *const cli_commands[] = {'; \
	   for i in $$idents; do echo "    &cli_command_$$i,"; done; \
	   echo '    0};'; } > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/gen/commands.o: $(BUILD)/gen/commands.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# The training step's elementwise kernels: -O3 vectorises their loops (still
# no FP contraction or reassociation under -std=c11, so results are unchanged).
$(BUILD)/obj/src/nn/%.o: CFLAGS += $(if $(SAN),,-O3)
# AdamW's update: without errno, sqrt is the vector instruction, so its
# `omp simd` loops vectorise (IEEE sqrt and division: the scalar results, bit
# for bit; its sqrt arguments are never negative, so errno was never set).
$(BUILD)/obj/src/train/optim.o: CFLAGS += -fno-math-errno

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Itests -c -o $@ $<

test: setup
	@bash scripts/setup.sh test
	@$(MAKE) --no-print-directory -j$(NPROC) build
	@bash tests/run.sh $(BUILD)

asan: setup
	@bash scripts/setup.sh test
	@$(MAKE) --no-print-directory -j$(NPROC) build BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	   SAN="-fsanitize=address,undefined -fno-sanitize-recover=all"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	   MODX_ASAN=1 bash tests/run.sh build-asan

demo: setup
	@bash scripts/setup.sh demo
	@$(MAKE) --no-print-directory -j$(NPROC) build
	@bash scripts/demo.sh $(BUILD)

bench: setup
	@$(MAKE) --no-print-directory -j$(NPROC) build
	@bash bench/run.sh $(BUILD)

fuzz: setup
	@bash scripts/setup.sh fuzz
	@bash tests/fuzz/build.sh build-fuzz

# Install: the header, both libraries (+ the soname links) and modx.pc, whose
# prefix is the one given here. Builds nothing that is already up to date.
# The static library's dependencies go to Requires.private / Libs.private.
PC_REQUIRES = $(if $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo y),$(PKGS))
PC_LIBS_PRIVATE = $(if $(PC_REQUIRES),,$(PKG_LIBS)) -ldnnl $(BLAS_LIBS) -fopenmp -lm -lpthread

install: $(BUILD)/libmodx.a $(BUILD)/$(SOFILE)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@REQUIRES_PRIVATE@|$(PC_REQUIRES)|' \
	    -e 's|@LIBS_PRIVATE@|$(strip $(PC_LIBS_PRIVATE))|' src/api/modx.pc.in > $(BUILD)/modx.pc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/modx.h $(DESTDIR)$(INCLUDEDIR)/modx.h
	install -m 755 $(BUILD)/$(SOFILE) $(DESTDIR)$(LIBDIR)/$(SOFILE)
	ln -sf $(SOFILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libmodx.so
	install -m 644 $(BUILD)/libmodx.a $(DESTDIR)$(LIBDIR)/libmodx.a
	install -m 644 $(BUILD)/modx.pc $(DESTDIR)$(PKGCONFIGDIR)/modx.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/modx.h $(DESTDIR)$(LIBDIR)/$(SOFILE) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libmodx.so $(DESTDIR)$(LIBDIR)/libmodx.a $(DESTDIR)$(PKGCONFIGDIR)/modx.pc

FUZZ_SECONDS ?= 30
fuzz-run: fuzz
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS) build-fuzz

clean:
	rm -rf build build-*

-include $(shell find $(BUILD) build-asan -name '*.d' 2>/dev/null)
