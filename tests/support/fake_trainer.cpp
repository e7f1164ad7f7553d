// A fake ampere-trainer for the supervisor's tests: speaks the pipe protocol (agent/trainer_link)
// without LibTorch, and misbehaves on cue, by the job's model name:
//   fake-crash   opens a window, then dies of SIGSEGV mid-window
//   fake-hang    never answers (the deadline must stop it)
//   fake-grow    allocates and touches 16 MiB every 5 ms, up to 4 GiB (the memory ceiling must stop it)
//   fake-refuse  answers with an unprocessable error
//   fake-exit    exits with status 3 before answering
//   anything else: min_repeats windows of 20 ms, one iteration each, then a result
// `serve --device D`: D other than cpu is refused before ready, as the real trainer refuses an
// unknown device. Tests our supervisor against our protocol, not LibTorch.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "agent/trainer_link/line_pipe.hpp"
#include "agent/trainer_link/messages.hpp"

using namespace ampere;

int main(int argc, char** argv) {
  std::string device = "cpu";
  for (int i = 2; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--device") device = argv[i + 1];
  LinePipe pipe(STDIN_FILENO, STDOUT_FILENO);
  if (device != "cpu") {
    pipe.write_line(encode_error(ErrorCode::InvalidInput, "unknown device '" + device + "' (cpu, cuda, cuda:N)"));
    return 2;
  }
  TrainerInfo info;
  info.backend = "torch";
  info.libraries = {{"fake-trainer", "1"}};
  info.pid = static_cast<long>(getpid());
  pipe.write_line(encode_ready(info));
  try {
    while (true) {
      const TrainerMessage message = decode_trainer_message(*pipe.read_line(std::chrono::milliseconds(-1)));
      const TrainerJob job = job_of(message);
      const std::string& name = job.model.name;
      if (name == "fake-hang") std::this_thread::sleep_for(std::chrono::hours(1));
      if (name == "fake-exit") return 3;
      if (name == "fake-refuse") {
        pipe.write_line(encode_error(ErrorCode::Unprocessable, "fake-refuse: refused as asked"));
        continue;
      }
      if (name == "fake-grow") {
        std::vector<char*> blocks;
        for (int i = 0; i < 256; ++i) {
          char* block = new char[16u << 20];
          std::memset(block, 1, 16u << 20);
          blocks.push_back(block);
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        std::this_thread::sleep_for(std::chrono::hours(1));
      }
      Measurement m;
      m.meter = job.meter;
      m.iterations = 1;
      m.threads = 1;
      bool failed = false;
      for (std::uint32_t r = 0; r < job.settings.repeats.min_repeats && !failed; ++r) {
        pipe.write_line(encode_window_begin());
        TrainerMessage go = decode_trainer_message(*pipe.read_line(std::chrono::milliseconds(-1)));
        if (go.type == "window-error") {
          pipe.write_line(encode_error(error_of(go).code(), error_of(go).what()));
          failed = true;
          break;
        }
        if (name == "fake-crash") ::raise(SIGSEGV);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        pipe.write_line(encode_window_end(0.02));
        const TrainerMessage joules = decode_trainer_message(*pipe.read_line(std::chrono::milliseconds(-1)));
        if (joules.type == "window-error") {
          pipe.write_line(encode_error(error_of(joules).code(), error_of(joules).what()));
          failed = true;
          break;
        }
        m.seconds_per_iteration.push_back(0.02);
        m.joules_per_iteration.push_back(window_joules_of(joules));
      }
      if (!failed) pipe.write_line(encode_result(m));
    }
  } catch (const PipeClosed&) {
    return 0;
  }
}
