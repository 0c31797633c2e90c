# The README's two commands: `make demo` and `make test`. Both install what is missing
# (scripts/setup.sh), configure and build first.
BUILD ?= build
JOBS ?= 2
DEEPCART := $(BUILD)/apps/deepcart/deepcart

.PHONY: all setup build demo test test-fast bench clean format format-check

all: build

setup:
	bash scripts/setup.sh

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(DEEPCART) doctor
	$(DEEPCART) demo --out demo-out

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Everything but the tests labelled slow (they train on real data).
test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE slow

clean:
	rm -rf $(BUILD) demo-out

# The C++ sources follow .clang-format (clang-format 14, Debian's).
SOURCES = $(shell git ls-files '*.cpp' '*.h' '*.cu')
format:
	@clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run --Werror $(SOURCES)
