// A phone driven from a host over adb (--runner adb): the trainer, built for the phone, is pushed
// to it and run with `adb shell`; the battery is read over adb (docs/trainer-protocol.md, "Phone
// host mode"). Each method runs the adb binary given; none needs a shell on the host.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "agent/meters/meter.hpp"

namespace ampere {

class AdbDevice {
 public:
  /// Where the trainer lives on the phone (the shell user may write and execute there).
  static constexpr const char* kTrainerPath = "/data/local/tmp/ampere-trainer";

  /// Throws InputError naming the serial and what adb said when the phone is not there (absent,
  /// unauthorized, offline), or adb itself cannot be run.
  AdbDevice(std::string adb, std::string serial);

  const std::string& adb() const { return adb_; }
  const std::string& serial() const { return serial_; }
  /// `adb push` of the trainer to kTrainerPath, made executable. Throws InputError with adb's words.
  void push_trainer(const std::string& local_trainer) const;
  /// `getprop NAME` on the phone; empty when unset.
  std::string property(const std::string& name) const;
  /// The command that runs the pushed trainer over `adb shell` (its stdin and stdout are the pipe).
  std::vector<std::string> trainer_command(const std::vector<std::string>& trainer_args) const;
  /// Resident memory of process `pid` on the phone (VmRSS of its /proc status); 0 when unreadable.
  std::uint64_t resident_bytes(long pid) const;
  /// Kills process `pid` on the phone (a stopped job's trainer: closing adb alone may leave it).
  void kill(long pid) const;
  /// The phone's sysfs for its meters: one `adb shell` per read, printing "+" and each file's
  /// first line, or "-" for one it cannot read.
  std::shared_ptr<const SysfsFiles> sysfs() const;

 private:
  std::string adb_, serial_;
};

}  // namespace ampere
