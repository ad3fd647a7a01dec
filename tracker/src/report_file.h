// Internal: where a report goes on disk (platform/report_file_<platform>.cc). A regular
// file (or a new one) is written under a temporary name in the same directory and then
// renamed over the target, so a reader never sees half a report and a failed write
// leaves the previous one; a symbolic link is followed to its target; a FIFO or a
// character device (/dev/stdout) is written into as it is, never replaced.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

class ReportFile {
 public:
  // Opens the output for `path`. On failure returns null and sets `error` to the
  // system's reason ("Permission denied").
  static std::unique_ptr<ReportFile> create(const std::string& path, std::string* error) noexcept;
  ~ReportFile();
  ReportFile(const ReportFile&) = delete;
  ReportFile& operator=(const ReportFile&) = delete;

  // Buffered; a failure is remembered and reported by finish().
  void write(std::string_view text) noexcept {
    offset_ += text.size();
    if (error_ != 0) return;
    try {
      buffer_.append(text);
    } catch (...) {
      error_ = ENOMEM;
      return;
    }
    if (buffer_.size() >= kBufferSize) flush();
  }
  // Bytes written so far.
  std::uint64_t offset() const noexcept { return offset_; }
  // Flushes and puts the file in place. False (with `error`) if anything failed; a
  // temporary file is removed then.
  bool finish(std::string* error) noexcept;
  // True if the written file can be patched later (a regular file, not a stream).
  bool patchable() const noexcept { return regular_; }
  // The path the report now lives at (the symbolic link's target, if it was one).
  const std::string& target() const noexcept { return target_; }

  // Replaces the bytes of `target` from `offset` on with `text`. False (with `error`) if
  // it cannot.
  static bool patch(const std::string& target, std::uint64_t offset, std::string_view text,
                    std::string* error) noexcept;

 private:
  static constexpr std::size_t kBufferSize = std::size_t{1} << 16;

  ReportFile() = default;
  // Writes the buffer out (the platform's file).
  bool flush() noexcept;

  int fd_ = -1;
  bool regular_ = true;
  int error_ = 0;
  std::uint64_t offset_ = 0;
  std::string target_;
  std::string temporary_;
  std::string buffer_;
};

}  // namespace internal
RESTRACK_NAMESPACE_END
