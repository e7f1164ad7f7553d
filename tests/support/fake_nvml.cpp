// A fake libnvidia-ml.so.1 for the nvml meter's tests: the few entry points the meter calls, with
// NVML's documented signatures and return codes, serving scripted readings. It tests our code
// against the documented behaviour of the real library, not a GPU.
//
// The script is the file named by AMPERE_FAKE_NVML, read at nvmlInit_v2:
//   energy_mj: unsupported          (nvmlDeviceGetTotalEnergyConsumption answers NOT_SUPPORTED)
//   energy_mj: 1000,3000,500        (successive reads; the last repeats)
//   power_mw: 250000                (nvmlDeviceGetPowerUsage)
//   name: Fake GPU
//   uuid: GPU-00000000-1111-2222-3333-444444444444   (nvmlDeviceGetHandleByUUID finds only this one)
//   sm_mhz: 1410   temp_c: 61   throttle: 4         (clock, temperature, throttle-reason mask; absent: NOT_SUPPORTED)
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {
struct Script {
  bool energy_supported = true;
  std::vector<unsigned long long> energy;
  std::size_t next = 0;
  unsigned int power_mw = 0;
  std::string name = "Fake GPU";
  std::string uuid = "GPU-00000000-1111-2222-3333-444444444444";
  long sm_mhz = -1, temp_c = -1;
  long long throttle = -1;
  bool loaded = false;
};
Script g_script;
int g_device = 0;  // the handle points here

constexpr int kSuccess = 0, kUninitialized = 1, kInvalidArgument = 2, kNotSupported = 3, kNotFound = 6;

void load() {
  g_script = Script{};
  const char* file = std::getenv("AMPERE_FAKE_NVML");
  if (!file) return;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, colon), value = line.substr(colon + 1 + (line[colon + 1] == ' ' ? 1 : 0));
    if (key == "energy_mj") {
      if (value == "unsupported") g_script.energy_supported = false;
      std::stringstream list(value);
      for (std::string item; std::getline(list, item, ',');)
        if (item != "unsupported") g_script.energy.push_back(std::stoull(item));
    } else if (key == "power_mw") {
      g_script.power_mw = static_cast<unsigned int>(std::stoul(value));
    } else if (key == "name") {
      g_script.name = value;
    } else if (key == "uuid") {
      g_script.uuid = value;
    } else if (key == "sm_mhz") {
      g_script.sm_mhz = std::stol(value);
    } else if (key == "temp_c") {
      g_script.temp_c = std::stol(value);
    } else if (key == "throttle") {
      g_script.throttle = std::stoll(value);
    }
  }
  g_script.loaded = true;
}
}  // namespace

extern "C" {
int nvmlInit_v2() {
  load();
  return kSuccess;
}
int nvmlShutdown() { return kSuccess; }
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (!g_script.loaded) return kUninitialized;
  if (!device) return kInvalidArgument;
  if (index != 0) return kNotFound;
  *device = &g_device;
  return kSuccess;
}
int nvmlDeviceGetHandleByUUID(const char* uuid, void** device) {
  if (!g_script.loaded) return kUninitialized;
  if (!uuid || !device) return kInvalidArgument;
  if (g_script.uuid != uuid) return kNotFound;
  *device = &g_device;
  return kSuccess;
}
int nvmlDeviceGetClockInfo(void* device, int type, unsigned int* clock) {
  if (device != &g_device || !clock || type != 1) return kInvalidArgument;  // NVML_CLOCK_SM
  if (g_script.sm_mhz < 0) return kNotSupported;
  *clock = static_cast<unsigned int>(g_script.sm_mhz);
  return kSuccess;
}
int nvmlDeviceGetTemperature(void* device, int sensor, unsigned int* temp) {
  if (device != &g_device || !temp || sensor != 0) return kInvalidArgument;  // NVML_TEMPERATURE_GPU
  if (g_script.temp_c < 0) return kNotSupported;
  *temp = static_cast<unsigned int>(g_script.temp_c);
  return kSuccess;
}
int nvmlDeviceGetCurrentClocksThrottleReasons(void* device, unsigned long long* reasons) {
  if (device != &g_device || !reasons) return kInvalidArgument;
  if (g_script.throttle < 0) return kNotSupported;
  *reasons = static_cast<unsigned long long>(g_script.throttle);
  return kSuccess;
}
int nvmlDeviceGetTotalEnergyConsumption(void* device, unsigned long long* energy) {
  if (device != &g_device || !energy) return kInvalidArgument;
  if (!g_script.energy_supported || g_script.energy.empty()) return kNotSupported;
  *energy = g_script.energy[std::min(g_script.next, g_script.energy.size() - 1)];
  ++g_script.next;
  return kSuccess;
}
int nvmlDeviceGetPowerUsage(void* device, unsigned int* power) {
  if (device != &g_device || !power) return kInvalidArgument;
  *power = g_script.power_mw;
  return kSuccess;
}
int nvmlDeviceGetName(void* device, char* name, unsigned int length) {
  if (device != &g_device || !name || length == 0) return kInvalidArgument;
  std::strncpy(name, g_script.name.c_str(), length - 1);
  name[length - 1] = '\0';
  return kSuccess;
}
}
