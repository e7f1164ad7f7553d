// Any bytes as a result spool file, read as a start reads it (framed records, CRC, torn tail,
// older unframed lines). Must never crash; every record it keeps must be a whole one.
#include <cstddef>
#include <cstdint>
#include <string>

#include "coordinator/store/result_spool.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (const ampere::ResultRecord& r : ampere::spool_records_of(std::string(reinterpret_cast<const char*>(data), size)))
    (void)r.measurement.seconds_per_iteration.size();
  return 0;
}
