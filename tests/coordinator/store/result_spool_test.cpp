#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include "common/error.hpp"
#include "coordinator/store/flaky_store.hpp"
#include "coordinator/store/result_spool.hpp"

using namespace ampere;

using ampere::testing::Dir;
using ampere::testing::FlakyStore;
using ampere::testing::measurement;

TEST_CASE("a result survives the JSON line round trip, NaN idle watts included") {
  ResultRecord r{42, "agent-7", measurement(0.25)};
  const ResultRecord back = result_from_json_line(result_to_json_line(r));
  CHECK(back.job_id == 42);
  CHECK(back.agent_id == "agent-7");
  CHECK(back.measurement.seconds_per_iteration == r.measurement.seconds_per_iteration);
  CHECK(back.measurement.joules_per_iteration == r.measurement.joules_per_iteration);
  CHECK(back.measurement.meter == MeterSource::Simulated);
  CHECK(std::isnan(back.measurement.idle_watts));
  ResultRecord node{43, "agent-8", measurement(0.25)};  // a composite's parts survive the spool too
  node.measurement.meter = MeterSource::Composite;
  node.measurement.meter_parts = {{MeterSource::Rapl, node.measurement.joules_per_iteration},
                                  {MeterSource::Nvml, std::vector<double>(node.measurement.joules_per_iteration.size(), 0.0)}};
  const ResultRecord node_back = result_from_json_line(result_to_json_line(node));
  CHECK(meter_label_of(node_back.measurement).str() == "rapl+nvml");
  REQUIRE(node_back.measurement.meter_parts.size() == 2);
  CHECK(node_back.measurement.meter_parts[0].joules_per_iteration == node.measurement.joules_per_iteration);
}

TEST_CASE("the spool keeps results on disk until the store takes them, bounded, losing none") {
  Dir dir;
  const std::string path = dir.file("spool.jsonl");
  FlakyStore store;
  {
    ResultSpool spool(path, 3);
    CHECK(spool.append({1, "a", measurement(0.1)}));
    CHECK(spool.append({2, "a", measurement(0.2)}));
    CHECK(spool.append({3, "a", measurement(0.3)}));
    CHECK_FALSE(spool.append({4, "a", measurement(0.4)}));  // full: the caller must not ack
    CHECK(spool.size() == 3);
    const SpoolReplay away = spool.replay(store);  // still away: nothing moves
    CHECK(away.stored == 0);
    CHECK(away.left == 3);
  }
  // a restart (the coordinator crashed): the spool reads back what was acknowledged
  ResultSpool spool(path, 3);
  REQUIRE(spool.size() == 3);
  store.up = true;
  store.stored.push_back({2, "a", measurement(0.2)});  // stored before a crash cut a replay short
  const SpoolReplay back = spool.replay(store);
  CHECK(back.stored == 2);
  CHECK(back.duplicate == 1);
  CHECK(back.left == 0);
  CHECK(spool.size() == 0);
  CHECK_FALSE(std::filesystem::exists(path));
  REQUIRE(store.stored.size() == 3);
  CHECK(store.stored[1].job_id == 1);
  CHECK(store.stored[2].measurement.seconds_per_iteration[0] == 0.3);
}

TEST_CASE("a spooled result the store refuses for good is moved aside with its reason, not dropped") {
  Dir dir;
  const std::string path = dir.file("spool.jsonl");
  FlakyStore store;
  ResultSpool spool(path, 10);
  spool.append({666, "a", measurement(0.1)});
  spool.append({7, "a", measurement(0.2)});
  store.up = true;
  const SpoolReplay r = spool.replay(store);
  CHECK(r.rejected == 1);
  CHECK(r.stored == 1);
  std::ifstream rejected(path + ".rejected");
  std::string line;
  REQUIRE(std::getline(rejected, line));
  CHECK(line.find("\"job_id\":666") != std::string::npos);
  CHECK(line.find("unknown job 666") != std::string::npos);
}

TEST_CASE("a spool cut off mid-record by a crash truncates that unacknowledged tail, and the next record is never glued to it") {
  Dir dir;
  const std::string path = dir.file("spool.jsonl");
  {
    ResultSpool spool(path, 10);
    spool.append({1, "a", measurement(0.1)});
  }
  {
    std::ofstream torn(path, std::ios::app);
    torn << "1a2b3c4d 120 {\"job_id\": 2, \"agent_";
  }
  {
    ResultSpool reopened(path, 10);
    CHECK(reopened.size() == 1);
    reopened.append({3, "a", measurement(0.3)});  // after the truncation: a clean line of its own
  }
  ResultSpool again(path, 10);
  REQUIRE(again.size() == 2);
  CHECK_FALSE(std::filesystem::exists(path + ".corrupt"));
}

TEST_CASE("a spool record whose CRC or length does not match is moved aside, the rest kept, the start goes on") {
  Dir dir;
  const std::string path = dir.file("spool.jsonl");
  {
    ResultSpool spool(path, 10);
    spool.append({1, "a", measurement(0.1)});
    spool.append({2, "a", measurement(0.2)});
    spool.append({3, "a", measurement(0.3)});
  }
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  const auto second = text.find('\n') + 1;
  const auto digit = text.find("0.2", second);
  REQUIRE(digit != std::string::npos);
  text[digit + 2] = '7';  // one flipped digit: 0.2 -> 0.7, still valid JSON
  {
    std::ofstream out(path, std::ios::trunc);
    out << "garbage\n" << text;
  }
  ResultSpool spool(path, 10);
  REQUIRE(spool.size() == 2);  // records 1 and 3
  const std::string corrupt = [&] {
    std::ifstream in(path + ".corrupt");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  CHECK(corrupt.find("garbage") != std::string::npos);
  CHECK(corrupt.find("0.7") != std::string::npos);  // kept for an operator, never replayed
  CHECK(ResultSpool(path, 10).size() == 2);  // the spool itself now holds the good records only
  CHECK_THROWS_AS(ResultSpool(path, 0), InputError);
  // an older coordinator's unframed JSON line still reads
  {
    std::ofstream old(path, std::ios::trunc);
    old << result_to_json_line({9, "a", measurement(0.9)});
  }
  CHECK(ResultSpool(path, 10).size() == 1);
  CHECK(spool_crc32("123456789") == 0xCBF43926u);  // the standard check value
}

TEST_CASE("a spool that cannot be written refuses the ack and cuts off its partial record, the loop's store stays usable") {
  Dir dir;
  const std::string path = dir.file("ro/spool.jsonl");
  std::filesystem::create_directories(dir.file("ro"));
  {
    ResultSpool spool(path, 10);
    spool.append({1, "a", measurement(0.1)});
  }
  ::chmod(path.c_str(), 0400);  // as a full disk would, the write fails
  ResultSpool spool(path, 10);
  if (::geteuid() != 0) {  // root writes anyway
    CHECK_THROWS(spool.append({2, "a", measurement(0.2)}));
    CHECK(spool.size() == 1);
  }
  ::chmod(path.c_str(), 0600);
  CHECK(ResultSpool(path, 10).size() == 1);
}

TEST_CASE("a spool line whose whole numbers are floats past their range, or negative, is refused, never converted (found by fuzz_spool)") {
  std::string line = result_to_json_line({42, "agent-7", measurement(0.25)});
  line.pop_back();  // the newline
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"\"job_id\":42", "\"job_id\":2.2e45"}, {"\"job_id\":42", "\"job_id\":-1"}, {"\"iterations\":", "\"iterations\":1e300,\"x\":"}}) {
    std::string bad = line;
    const std::size_t at = bad.find(from);
    REQUIRE(at != std::string::npos);
    bad.replace(at, from.size(), to);
    CHECK_THROWS_WITH_AS(result_from_json_line(bad), doctest::Contains("must be a whole number"), InputError);
  }
}
