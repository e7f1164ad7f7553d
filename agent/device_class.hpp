// Default device-class names: what an agent registers as when --device-class is not given. One
// class is one GP per layer kind, so the name carries what changes costs: the GPU model, the
// Jetson board and its power mode, the phone model, the CPU thread count.
#pragma once

#include <string>

namespace ampere {

/// Lowercase, each run of characters other than a-z and 0-9 as one '-', none at either end:
/// "NVIDIA H100 80GB HBM3" → "nvidia-h100-80gb-hbm3". Empty in, "unknown" out.
std::string class_name_part(const std::string& text);

/// "local-cpu-<threads>t".
std::string cpu_device_class(int threads);
/// "cuda-<gpu name>", e.g. cuda-nvidia-h100-80gb-hbm3.
std::string cuda_device_class(const std::string& gpu_name);
/// "android-<ro.product.model>", e.g. android-cph2211.
std::string android_device_class(const std::string& product_model);

/// A Jetson board: its model (SYSFS/proc/device-tree/model) and nvpmodel power mode.
struct JetsonFacts {
  std::string model;           ///< e.g. "NVIDIA Jetson AGX Xavier Developer Kit"; empty: unreadable
  std::string nvpmodel_mode;   ///< the mode's name (e.g. "MAXN") or "mode<ID>"; empty: unreadable
};
/// Reads them under `sysfs_root` (default "/"): the model from proc/device-tree/model (its
/// trailing NUL dropped), the mode ID from var/lib/nvpmodel/status ("pmode:0002"), named by the
/// matching "< POWER_MODEL ID=2 NAME=15W >" line of etc/nvpmodel.conf when there is one.
JetsonFacts read_jetson_facts(const std::string& sysfs_root);
/// "jetson-<model>-<mode>", the model without its "nvidia-jetson-" prefix and "-developer-kit"
/// suffix: jetson-agx-xavier-maxn. An unreadable part reads "unknown".
std::string jetson_device_class(const JetsonFacts& facts);

}  // namespace ampere
