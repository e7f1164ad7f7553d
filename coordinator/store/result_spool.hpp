// The bounded on-disk spool for results that arrive while the store is unreachable.
//
// A result the store could not take is appended here (one record per line: its CRC32, its length
// and its JSON; fsync'd) before the agent is acknowledged, so an acknowledged result is always on
// disk somewhere. At open, a torn tail (a crash mid-append, never acknowledged) is truncated and a
// record that fails its check is moved to PATH.corrupt: the spool never stops a start. The coordinator replays the
// spool into the store when it is back (and on start, before it reloads), oldest first. A record
// the store refuses for good (unknown job) moves to PATH.rejected with the reason, never dropped.
// Not thread safe: the coordinator's loop owns it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "coordinator/store/store.hpp"

namespace ampere {

struct SpoolReplay {
  std::size_t stored = 0;     ///< written to the store
  std::size_t duplicate = 0;  ///< the store had them already (a replay cut short by a crash)
  std::size_t rejected = 0;   ///< refused for good, moved to the rejected file
  std::size_t left = 0;       ///< still spooled: the store went away again
};

class ResultSpool {
 public:
  /// Opens (and reads) the spool at `path`, created on first append: a torn tail is truncated,
  /// corrupt records are moved to PATH.corrupt (logged), the rest kept.
  ResultSpool(std::string path, std::size_t capacity);

  /// Appends and syncs; false when the spool holds `capacity` results already (the caller must
  /// not acknowledge the result then: the agent sends it again). Throws on an I/O error, after
  /// cutting off whatever part of the record reached the file.
  bool append(const ResultRecord& result);
  /// Writes what it can to `store`, oldest first; stops at the first StoreUnavailable.
  SpoolReplay replay(Store& store);

  std::size_t size() const { return records_.size(); }
  std::size_t capacity() const { return capacity_; }
  const std::string& path() const { return path_; }

 private:
  void rewrite();

  std::string path_;
  std::size_t capacity_;
  std::vector<ResultRecord> records_;
};

/// The good records of a spool file, read without changing it (tests, inspection); the
/// coordinator's ResultSpool is the only writer.
std::vector<ResultRecord> read_spool_records(const std::string& path);
/// The good records of a spool file's text (what read_spool_records and a start read; fuzzed).
std::vector<ResultRecord> spool_records_of(const std::string& text);

/// CRC-32 (IEEE 802.3, zlib's) of `bytes`: the spool's record check.
std::uint32_t spool_crc32(const std::string& bytes);

/// A result as one JSON line and back (the spool record's JSON; also readable by operators).
std::string result_to_json_line(const ResultRecord& result);
ResultRecord result_from_json_line(const std::string& line);

}  // namespace ampere
