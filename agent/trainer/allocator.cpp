#include "agent/trainer/allocator.hpp"

#include <malloc.h>

namespace ampere {

bool pin_allocator() {
  const bool mmap_ok = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1;  // glibc's maximum on 64-bit
  const bool trim_ok = mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024) == 1;
  return mmap_ok && trim_ok;
}

}  // namespace ampere
