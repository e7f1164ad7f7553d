#include "coordinator/http/reply_cache.hpp"

#include <doctest/doctest.h>

using namespace ampere;

TEST_CASE("the reply cache answers exact bodies of one snapshot, evicts the least recently used, forgets old snapshots") {
  ReplyCache cache(2);
  cache.remember(1, "a", 200, "A");
  cache.remember(1, "b", 422, "B");
  REQUIRE(cache.find(1, "a"));
  CHECK(cache.find(1, "a")->second == "A");  // a is now the most recent
  cache.remember(1, "c", 200, "C");          // evicts b
  CHECK_FALSE(cache.find(1, "b"));
  CHECK(cache.find(1, "c")->first == 200);
  CHECK_FALSE(cache.find(1, "a "));  // exact bodies only
  CHECK_FALSE(cache.find(2, "a"));   // another snapshot
  cache.remember(2, "d", 200, "D");  // a new snapshot drops every older reply
  CHECK_FALSE(cache.find(1, "a"));
  CHECK(cache.find(2, "d"));
  ReplyCache off(0);
  off.remember(1, "a", 200, "A");
  CHECK_FALSE(off.find(1, "a"));
}
