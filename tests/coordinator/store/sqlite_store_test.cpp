#include <unistd.h>

#include <filesystem>

#include <doctest/doctest.h>

#include "common/error.hpp"
#include "coordinator/store/store_contract.hpp"

using namespace ampere;

TEST_CASE("the SQLite store keeps the store contract") {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("ampere-store-" + std::to_string(::getpid()) + ".db")).string();
  testing::check_store_contract([&] { return open_store("sqlite:" + path); });
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

TEST_CASE("store URLs are checked") {
  CHECK_THROWS_WITH_AS(open_store("mysql://x"), doctest::Contains("unknown scheme"), InputError);
  CHECK_THROWS_WITH_AS(open_store("sqlite:/nonexistent-dir/x.db"), doctest::Contains("cannot open"), InputError);
  CHECK_THROWS_WITH_AS(open_store("postgresql://nobody:secret@127.0.0.1:1/none"), doctest::Contains("cannot connect"),
                       InputError);
  try {
    open_store("postgresql://nobody:secret@127.0.0.1:1/none");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("secret") == std::string::npos);  // passwords never reach logs
  }
}
