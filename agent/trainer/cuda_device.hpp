// The CUDA device a trainer trains on, as its driver names it: name and UUID, read from
// libcuda.so.1 with dlopen (no CUDA headers or toolkit needed to build).
#pragma once

#include <string>

namespace ampere {

struct CudaDeviceFacts {
  std::string name;  ///< e.g. "NVIDIA H100 80GB HBM3"
  std::string uuid;  ///< "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", the form NVML looks GPUs up by
};

/// CUDA device `ordinal` as CUDA numbers it (after CUDA_VISIBLE_DEVICES, like LibTorch's cuda:N).
/// Throws InputError saying why when the driver or the device cannot be had.
CudaDeviceFacts cuda_device_facts(int ordinal);

/// "GPU-" and the 16 bytes as 8-4-4-4-12 hex digits (nvidia-smi's and NVML's form).
std::string format_gpu_uuid(const unsigned char bytes[16]);

}  // namespace ampere
