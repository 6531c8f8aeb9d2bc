# tests/fuzz/ctest.cmake, included by tests/CMakeLists.txt: one ctest test
# (label fuzz) that builds the libFuzzer harnesses with clang in a build
# directory of its own and runs each for DBK_FUZZ_SECONDS (default 20 s).
# Without clang it reports itself skipped.
add_test(NAME fuzz
         COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/run-fuzzers.sh ${PROJECT_BINARY_DIR}/fuzz-build)
set_tests_properties(fuzz PROPERTIES LABELS fuzz TIMEOUT 1200 SKIP_RETURN_CODE 77)
