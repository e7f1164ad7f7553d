// Running another program from the agent: its own binary again (measure --processes), adb, getprop.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace ampere {

/// Runs argv with no shell (argv[0] looked up on PATH unless it holds a '/'), returns (exit
/// status, what it printed): stdout and stderr together, or stdout alone with `with_stderr` false
/// (its stderr then passes through to ours). Status 127: not runnable; 128 + N: killed by signal N.
/// A command still running after `timeout` is killed (SIGKILL) and InputError thrown naming it
/// and the limit; output past 16 MiB is not kept.
std::pair<int, std::string> run_command(const std::vector<std::string>& args, bool with_stderr = true,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace ampere
