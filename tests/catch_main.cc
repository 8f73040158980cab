// The one main() for every Catch2 test binary (Catch2 v2 has no Catch2WithMain).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
