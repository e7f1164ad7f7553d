#include "agent/trainer/cuda_device.hpp"

#include <dlfcn.h>

#include <cstdio>

#include "common/error.hpp"

namespace ampere {

std::string format_gpu_uuid(const unsigned char b[16]) {
  char text[64];
  std::snprintf(text, sizeof text, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
                b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
  return text;
}

CudaDeviceFacts cuda_device_facts(int ordinal) {
  // The driver API's few entry points (cuda.h's signatures; CUdevice is an int, CUresult 0 is success).
  using Init = int (*)(unsigned);
  using Get = int (*)(int*, int);
  using Name = int (*)(char*, int, int);
  using Uuid = int (*)(unsigned char*, int);
  void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  AMPERE_REQUIRE(lib != nullptr, "cuda: cannot load libcuda.so.1 (", dlerror(), "): no NVIDIA driver here");
  const auto init = reinterpret_cast<Init>(dlsym(lib, "cuInit"));
  const auto get = reinterpret_cast<Get>(dlsym(lib, "cuDeviceGet"));
  const auto name = reinterpret_cast<Name>(dlsym(lib, "cuDeviceGetName"));
  const auto uuid = reinterpret_cast<Uuid>(dlsym(lib, "cuDeviceGetUuid"));
  CudaDeviceFacts facts;
  int device = 0, rc = -1;
  if (init && get && name && (rc = init(0)) == 0 && (rc = get(&device, ordinal)) == 0) {
    char text[256] = {0};
    if (name(text, sizeof text - 1, device) == 0) facts.name = text;
    unsigned char bytes[16];
    if (uuid && uuid(bytes, device) == 0) facts.uuid = format_gpu_uuid(bytes);
  }
  dlclose(lib);
  AMPERE_REQUIRE(rc == 0, "cuda: the driver has no device ", ordinal, " (CUresult ", rc, ")");
  return facts;
}

}  // namespace ampere
