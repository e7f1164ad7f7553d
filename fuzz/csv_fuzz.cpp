// Any bytes as the CSV `ampere gp fit` reads. Must never crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/error.hpp"
#include "gp/csv_table.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    (void)ampere::parse_csv(std::string(reinterpret_cast<const char*>(data), size), "fuzz.csv");
  } catch (const ampere::InputError&) {
  }
  return 0;
}
