#include "agent/device_class.hpp"

#include <unistd.h>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

using namespace ampere;

TEST_CASE("default device classes name the GPU, the phone and the CPU threads") {
  CHECK(class_name_part("NVIDIA H100 80GB HBM3") == "nvidia-h100-80gb-hbm3");
  CHECK(class_name_part("  --  ") == "unknown");
  CHECK(cuda_device_class("NVIDIA GeForce RTX 3090") == "cuda-nvidia-geforce-rtx-3090");
  CHECK(android_device_class("CPH2211") == "android-cph2211");
  CHECK(cpu_device_class(4) == "local-cpu-4t");
}

TEST_CASE("a Jetson's class carries its model and nvpmodel mode, read from a fake root") {
  const std::filesystem::path root = std::filesystem::temp_directory_path() / ("ampere-jetson-class-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "proc/device-tree");
  std::filesystem::create_directories(root / "var/lib/nvpmodel");
  std::filesystem::create_directories(root / "etc");
  std::ofstream(root / "proc/device-tree/model") << "NVIDIA Jetson AGX Xavier Developer Kit" << '\0';
  CHECK(jetson_device_class(read_jetson_facts(root.string())) == "jetson-agx-xavier-unknown");  // no nvpmodel status
  std::ofstream(root / "var/lib/nvpmodel/status") << "pmode:0002\n";
  CHECK(read_jetson_facts(root.string()).nvpmodel_mode == "mode2");  // no conf to name it
  std::ofstream(root / "etc/nvpmodel.conf") << "< POWER_MODEL ID=0 NAME=MAXN >\nCPU_ONLINE CORE_0 1\n< POWER_MODEL ID=2 NAME=MODE_15W >\n";
  CHECK(jetson_device_class(read_jetson_facts(root.string())) == "jetson-agx-xavier-mode-15w");
  std::filesystem::remove_all(root);
}
