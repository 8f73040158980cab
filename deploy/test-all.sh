#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12 machine: installs what is missing, builds every
# target (Debug, AddressSanitizer + UndefinedBehaviorSanitizer) and runs every test with ctest.
# .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${HAC_TEST_BUILD_DIR:-build-test}
deploy/install-deps.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHAC_SANITIZE=ON
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
