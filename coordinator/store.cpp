#include "common/error.hpp"
#include "coordinator/store_backends.hpp"

namespace ampere {

StorePtr open_store(const std::string& url) {
  if (url.rfind("sqlite:", 0) == 0) {
    const std::string path = url.substr(7);
    AMPERE_REQUIRE(!path.empty(), "store ", url, ": needs a path (sqlite:PATH)");
    return open_sqlite_store(path);
  }
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) return open_postgres_store(url);
  throw InputError("store " + url + ": unknown scheme (known: sqlite:PATH, postgresql://USER@HOST:PORT/DB)");
}

}  // namespace ampere
