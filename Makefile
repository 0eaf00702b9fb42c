# Thin wrapper over CMake: install missing build dependencies, configure
# once into build/, then forward every real target to cmake --build / ctest.

BUILD      ?= build
CMAKE_ARGS ?=
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
STAMP      := $(BUILD)/CMakeCache.txt
ARGS       ?=

.PHONY: all deps build run test test-sanitize fuzz bench check-format format clean

all: build

deps:
	@sh scripts/deps.sh

$(STAMP): CMakeLists.txt tests/CMakeLists.txt bench/CMakeLists.txt | deps
	cmake -S . -B $(BUILD) $(CMAKE_ARGS)

build: deps $(STAMP)
	cmake --build $(BUILD) -j $(JOBS)

# The demo: hub, publisher and subscribers in forked processes.
run: build
	$(BUILD)/herald demo $(ARGS)

test: build
	@sh scripts/deps.sh test
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(ARGS)

# The whole suite again, built with AddressSanitizer and UBSan (fewer
# no-loss rounds: the sanitizers slow every process down).
test-sanitize: deps
	cmake -S . -B $(BUILD)-asan -DHERALD_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && NOLOSS_ROUNDS=6 HOSTILE_SCALE_CONNECTIONS=10 ctest --output-on-failure -j $(JOBS) -E 'containers|swarm|format|memcheck|bench' $(ARGS)

# Each libFuzzer target for FUZZ_SECONDS, from the committed corpus; new
# inputs go to $(BUILD)-fuzz, a crash fails the target.
FUZZ_SECONDS ?= 60
fuzz:
	@sh scripts/deps.sh fuzz
	CC=clang cmake -S fuzz -B $(BUILD)-fuzz
	cmake --build $(BUILD)-fuzz -j $(JOBS)
	for target in $$(ls fuzz/fuzz_*.c | sed 's|fuzz/fuzz_\(.*\)\.c|\1|'); do \
	    mkdir -p $(BUILD)-fuzz/corpus-$$target && \
	    $(BUILD)-fuzz/fuzz_$$target -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(BUILD)-fuzz/ \
	        $(BUILD)-fuzz/corpus-$$target fuzz/corpus/$$target || exit 1; \
	done

# Side-by-side throughput and latency. herald_bench writes the samples
# (BENCH_OUT/bench.csv, bench.json), bench/render.py the report from them
# (bench.md, bench.png), also when some runs lost events (exit 70), so that
# the report shows which.
BENCH_OUT ?= docs
bench: build
	@sh scripts/deps.sh bench
	@rc=0; $(BUILD)/bench/herald_bench --herald $(BUILD)/herald --out $(BENCH_OUT) $(ARGS) || rc=$$?; \
	if [ $$rc -eq 0 ] || [ $$rc -eq 70 ]; then python3 bench/render.py $(BENCH_OUT) || exit 1; fi; \
	exit $$rc

# Every C file, bench/ and fuzz/ included: the list is in scripts/format.sh.
format:
	@sh scripts/format.sh

check-format:
	@sh scripts/format.sh --check

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-fuzz
