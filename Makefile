# The two commands of the README: `make run` and `make test`. Everything else is detail.
# In CI (CI=true) warnings are errors.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
VAR        ?= $(CURDIR)/var

.PHONY: all setup build run test test-asan fuzz bench clean

all: build

setup:
	@scripts/setup.sh

# scripts/configure.sh: a cache left by another checkout (a copied tree) is configured afresh.
build: setup
	@scripts/configure.sh $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBEIAN_WERROR=$(if $(CI),ON,OFF)
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@BEIAN_BIN=$(CURDIR)/$(BUILD) scripts/run.sh $(VAR)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j 1

# Same tests under AddressSanitizer + UBSan (CI runs both).
test-asan: setup
	@scripts/configure.sh $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DBEIAN_SANITIZE=ON -DBEIAN_WERROR=$(if $(CI),ON,OFF)
	@cmake --build $(BUILD_ASAN) -j $(JOBS)
	@cd $(BUILD_ASAN) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j 1

# libFuzzer harnesses (tests/fuzz/) built with clang + ASan/UBSan in their own tree, each run for
# FUZZ_SECONDS (FUZZ=name ... for some; docs/CONFIG.md "Fuzzing").
fuzz: setup
	@scripts/configure.sh $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	    -DCMAKE_CXX_COMPILER=clang++ -DBEIAN_FUZZ=ON -DBEIAN_MIMALLOC=OFF -DBEIAN_WERROR=$(if $(CI),ON,OFF)
	@cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzzers
	@scripts/fuzz.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ)

bench: build
	@scripts/bench-deps.sh $(BUILD)
	@scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
