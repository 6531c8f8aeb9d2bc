# Thin wrapper over CMake for the README's two commands. Everything real
# lives in CMakeLists.txt and the scripts under tests/.
BUILD ?= build
SANBUILD ?= build-san
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build demo test clean

all: build

deps:
	bash tests/install-deps.sh

build:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

# Installs, builds, starts scratch servers, seeds a messy database and runs
# `dbkeeper plan` and `dbkeeper once` on it.
demo: deps build
	bash tests/demo.sh $(BUILD)

# Installs, builds with ASan+UBSan, starts the servers, runs every test.
test: deps
	cmake -S . -B $(SANBUILD) -DCMAKE_BUILD_TYPE=Debug -DDBK_SANITIZE=ON
	cmake --build $(SANBUILD) -j $(JOBS)
	bash tests/run-tests.sh $(SANBUILD)

clean:
	rm -rf $(BUILD) $(SANBUILD)
