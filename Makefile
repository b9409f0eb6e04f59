# modx build. One build of everything under src/; each target below first runs
# scripts/setup.sh, which installs whatever Debian/npm packages are missing.
#
#   make            build build/modx, build/libmodx.a and the test binary
#   make test       build and run the whole suite (closes with "N passed, N failed")
#   make asan       the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo       the default continual experiment on the embedded emoji data
#   make bench      build and run the benchmarks in bench/
#   make fuzz       build the libFuzzer targets (clang) into build-fuzz/

CC       ?= cc
BUILD    ?= build
OPT      ?= -O2 -march=native -g
SAN      ?=
NPROC    := $(shell nproc 2>/dev/null || echo 2)
PKGS     := libcjson spng libjpeg zlib libutf8proc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcjson -lspng -ljpeg -lz -lutf8proc)
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

.PHONY: all build setup test asan demo bench fuzz clean
.DEFAULT_GOAL := all

all: setup
	@$(MAKE) --no-print-directory -j$(NPROC) build

build: $(BUILD)/modx $(BUILD)/tests/unit $(BENCH_BIN) $(FUZZ_BIN)

setup:
	@bash scripts/setup.sh build

$(BUILD)/libmodx.a: $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/modx: $(CLI_OBJ) $(BUILD)/libmodx.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit: $(TEST_OBJ) $(BUILD)/libmodx.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(BUILD)/libmodx.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Fuzz targets with the plain-main driver (the suite replays their seeds).
$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(BUILD)/obj/tests/fuzz/driver.o $(BUILD)/libmodx.a
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

clean:
	rm -rf build build-*

-include $(shell find $(BUILD) build-asan -name '*.d' 2>/dev/null)
