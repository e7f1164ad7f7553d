#include "agent/adb_device.hpp"

#include <sstream>

#include "agent/run_command.hpp"
#include "common/error.hpp"

namespace ampere {

namespace {
std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}
}  // namespace

AdbDevice::AdbDevice(std::string adb, std::string serial) : adb_(std::move(adb)), serial_(std::move(serial)) {
  AMPERE_REQUIRE(!serial_.empty(), "--runner adb needs --serial (the phone's, as `adb devices` lists it)");
  const auto [status, text] = run_command({adb_, "-s", serial_, "get-state"});
  AMPERE_REQUIRE(status != 127, "--runner adb: cannot run ", adb_, " (install adb, or give --adb PATH)");
  AMPERE_REQUIRE(status == 0 && trimmed(text) == "device", "--runner adb: phone ", serial_, " is not ready: ",
                 trimmed(text).empty() ? "adb get-state failed" : trimmed(text));
}

void AdbDevice::push_trainer(const std::string& local_trainer) const {
  const auto [status, text] = run_command({adb_, "-s", serial_, "push", local_trainer, kTrainerPath}, true, std::chrono::minutes(10));
  AMPERE_REQUIRE(status == 0, "--runner adb: pushing ", local_trainer, " to ", serial_, ":", kTrainerPath, " failed: ", trimmed(text));
  const auto [chmod_status, chmod_text] = run_command({adb_, "-s", serial_, "shell", std::string("chmod 755 ") + kTrainerPath});
  AMPERE_REQUIRE(chmod_status == 0, "--runner adb: chmod on ", serial_, " failed: ", trimmed(chmod_text));
}

std::string AdbDevice::property(const std::string& name) const {
  const auto [status, text] = run_command({adb_, "-s", serial_, "shell", "getprop " + name});
  return status == 0 ? trimmed(text) : "";
}

std::vector<std::string> AdbDevice::trainer_command(const std::vector<std::string>& trainer_args) const {
  std::vector<std::string> command = {adb_, "-s", serial_, "shell", kTrainerPath};
  command.insert(command.end(), trainer_args.begin(), trainer_args.end());
  return command;
}

std::uint64_t AdbDevice::resident_bytes(long pid) const {
  const auto [status, text] = run_command({adb_, "-s", serial_, "shell", "grep VmRSS /proc/" + std::to_string(pid) + "/status"});
  if (status != 0) return 0;
  std::istringstream in(text.substr(text.find(':') == std::string::npos ? 0 : text.find(':') + 1));
  std::uint64_t kb = 0;
  return in >> kb ? kb * 1024 : 0;
}

namespace {
class AdbSysfs final : public SysfsFiles {
 public:
  AdbSysfs(std::string adb, std::string serial) : adb_(std::move(adb)), serial_(std::move(serial)) {}
  std::vector<std::optional<std::string>> read_lines(const std::vector<std::string>& files) const override {
    std::string script;
    for (const std::string& f : files) script += "if [ -r " + f + " ]; then echo \"+$(head -n 1 " + f + ")\"; else echo -; fi; ";
    const auto [status, text] = run_command({adb_, "-s", serial_, "shell", script});
    std::vector<std::optional<std::string>> out(files.size());
    if (status != 0) return out;
    std::istringstream lines(text);
    std::string line;
    for (std::size_t i = 0; i < files.size() && std::getline(lines, line); ++i) {
      line = trimmed(line);
      if (!line.empty() && line[0] == '+') out[i] = line.substr(1);
    }
    return out;
  }
  std::vector<std::string> list(const std::string& directory) const override {
    const auto [status, text] = run_command({adb_, "-s", serial_, "shell", "ls " + directory});
    std::vector<std::string> names;
    if (status != 0) return names;
    std::istringstream words(text);
    for (std::string w; words >> w;) names.push_back(w);
    return names;
  }
  std::string describe(const std::string& path) const override { return serial_ + ":" + path; }

 private:
  std::string adb_, serial_;
};
}  // namespace

std::shared_ptr<const SysfsFiles> AdbDevice::sysfs() const { return std::make_shared<AdbSysfs>(adb_, serial_); }

void AdbDevice::kill(long pid) const { run_command({adb_, "-s", serial_, "shell", "kill -9 " + std::to_string(pid)}); }

}  // namespace ampere
