#include "agent/device_class.hpp"

#include <fstream>
#include <sstream>

namespace ampere {
namespace {

std::string read_all(const std::string& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void drop_prefix(std::string& s, const std::string& prefix) {
  if (s.rfind(prefix, 0) == 0) s.erase(0, prefix.size());
}
void drop_suffix(std::string& s, const std::string& suffix) {
  if (s.size() > suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0) s.erase(s.size() - suffix.size());
}

}  // namespace

std::string class_name_part(const std::string& text) {
  std::string out;
  bool dash = false;
  for (const char c : text) {
    const char l = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    if ((l >= 'a' && l <= 'z') || (l >= '0' && l <= '9')) {
      if (dash && !out.empty()) out += '-';
      out += l;
      dash = false;
    } else {
      dash = true;
    }
  }
  return out.empty() ? "unknown" : out;
}

std::string cpu_device_class(int threads) { return "local-cpu-" + std::to_string(threads) + "t"; }
std::string cuda_device_class(const std::string& gpu_name) { return "cuda-" + class_name_part(gpu_name); }
std::string android_device_class(const std::string& product_model) { return "android-" + class_name_part(product_model); }

JetsonFacts read_jetson_facts(const std::string& sysfs_root) {
  JetsonFacts facts;
  std::string model = read_all(sysfs_root + "/proc/device-tree/model");
  while (!model.empty() && (model.back() == '\0' || model.back() == '\n')) model.pop_back();
  facts.model = model;
  const std::string status = read_all(sysfs_root + "/var/lib/nvpmodel/status");
  const auto at = status.find("pmode:");
  if (at == std::string::npos) return facts;
  std::size_t end = at + 6;
  while (end < status.size() && status[end] >= '0' && status[end] <= '9') ++end;
  if (end == at + 6) return facts;
  const int id = std::stoi(status.substr(at + 6, end - at - 6));
  facts.nvpmodel_mode = "mode" + std::to_string(id);
  std::ifstream conf(sysfs_root + "/etc/nvpmodel.conf");
  for (std::string line; std::getline(conf, line);) {
    if (line.find("POWER_MODEL") == std::string::npos) continue;
    const auto id_at = line.find("ID="), name_at = line.find("NAME=");
    if (id_at == std::string::npos || name_at == std::string::npos) continue;
    if (std::atoi(line.c_str() + id_at + 3) != id) continue;
    std::string name = line.substr(name_at + 5);
    name = name.substr(0, name.find_first_of(" >\t"));
    if (!name.empty()) facts.nvpmodel_mode = name;
    break;
  }
  return facts;
}

std::string jetson_device_class(const JetsonFacts& facts) {
  std::string model = class_name_part(facts.model);
  drop_prefix(model, "nvidia-");
  drop_prefix(model, "jetson-");
  drop_suffix(model, "-developer-kit");
  return "jetson-" + model + "-" + class_name_part(facts.nvpmodel_mode);
}

}  // namespace ampere
