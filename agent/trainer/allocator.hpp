// Pinning glibc's allocator thresholds, so timings do not drift as a process runs.
#pragma once

namespace ampere {

/// glibc adapts its mmap threshold as a process runs, making the same model up to 1.38x slower
/// early than late (docs/method.md §5); fixing the thresholds stops that. Call once at process
/// start, before any measurement. Returns false when glibc refused.
bool pin_allocator();

}  // namespace ampere
