// The store implementations behind open_store() (private to store/ and its tests).
#pragma once

#include <string>

#include "coordinator/store/store.hpp"

namespace ampere {

/// SQLite file at `path`, created when missing.
StorePtr open_sqlite_store(const std::string& path);
/// PostgreSQL at a libpq URL (postgresql://user[:password]@host:port/db); migrates the schema.
StorePtr open_postgres_store(const std::string& url);
/// The URL with connect_timeout and tcp_user_timeout added where it sets none: the loop never
/// hangs on a database that does not answer.
std::string postgres_url_with_time_limits(const std::string& url);

}  // namespace ampere
