// Linux implementation of report_file.h.
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "platform.h"
#include "report_file.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// Follows symbolic links (up to 40, as the kernel does) to the path finally named, which
// may not exist yet.
bool resolve(std::string path, std::string& target, int& error) {
  for (int hops = 0; hops < 40; ++hops) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0 || !S_ISLNK(info.st_mode)) {
      target = path;
      return true;
    }
    char link[PATH_MAX];
    const ssize_t length = ::readlink(path.c_str(), link, sizeof link - 1);
    if (length < 0) {
      error = errno;
      return false;
    }
    std::string next(link, static_cast<std::size_t>(length));
    if (!next.empty() && next.front() != '/') {
      const std::size_t slash = path.rfind('/');
      if (slash != std::string::npos) next = path.substr(0, slash + 1) + next;
    }
    path = std::move(next);
  }
  error = ELOOP;
  return false;
}

// ".<name>.<pid>.restrack.tmp" in the target's directory, shortened so that it fits in
// NAME_MAX however long the target's name is.
std::string temporary_for(const std::string& target) {
  const std::size_t slash = target.rfind('/');
  const std::string directory = slash == std::string::npos ? "" : target.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
  const std::string suffix = "." + std::to_string(current_process_id()) + ".restrack.tmp";
  const std::size_t room = NAME_MAX - 1 - suffix.size();
  if (name.size() > room) name.resize(room);
  return directory + "." + name + suffix;
}

}  // namespace

std::unique_ptr<ReportFile> ReportFile::create(const std::string& path,
                                               std::string* error) noexcept {
  try {
    std::unique_ptr<ReportFile> file(new ReportFile());
    int resolve_error = 0;
    if (!resolve(path, file->target_, resolve_error)) {
      *error = std::strerror(resolve_error);
      return nullptr;
    }
    struct stat info {};
    const bool exists = ::stat(file->target_.c_str(), &info) == 0;
    if (exists && !S_ISREG(info.st_mode)) {
      if (S_ISDIR(info.st_mode)) {
        *error = std::strerror(EISDIR);
        return nullptr;
      }
      // A FIFO or a device: write into it. Non-blocking open, so a FIFO nobody reads
      // fails (ENXIO) instead of hanging the exiting process.
      file->regular_ = false;
      file->fd_ = ::open(file->target_.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (file->fd_ < 0) {
        *error = std::strerror(errno);
        return nullptr;
      }
      const int flags = ::fcntl(file->fd_, F_GETFL);
      if (flags >= 0) ::fcntl(file->fd_, F_SETFL, flags & ~O_NONBLOCK);
      return file;
    }
    file->temporary_ = temporary_for(file->target_);
    file->fd_ = ::open(file->temporary_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (file->fd_ < 0) {
      *error = std::strerror(errno);
      return nullptr;
    }
    file->buffer_.reserve(kBufferSize);
    return file;
  } catch (...) {
    *error = std::strerror(ENOMEM);
    return nullptr;
  }
}

ReportFile::~ReportFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!temporary_.empty()) ::unlink(temporary_.c_str());
}

bool ReportFile::flush() noexcept {
  const char* data = buffer_.data();
  std::size_t left = buffer_.size();
  while (left > 0 && error_ == 0) {
    const ssize_t written = ::write(fd_, data, left);
    if (written < 0) {
      if (errno != EINTR) error_ = errno;
      continue;
    }
    data += written;
    left -= static_cast<std::size_t>(written);
  }
  buffer_.clear();
  return error_ == 0;
}

bool ReportFile::finish(std::string* error) noexcept {
  flush();
  if (::close(fd_) != 0 && error_ == 0) error_ = errno;
  fd_ = -1;
  if (error_ == 0 && !temporary_.empty() && ::rename(temporary_.c_str(), target_.c_str()) != 0) {
    error_ = errno;
  }
  if (error_ != 0) {
    *error = std::strerror(error_);
    return false;
  }
  temporary_.clear();  // renamed: nothing to remove
  return true;
}

bool ReportFile::patch(const std::string& target, std::uint64_t offset, std::string_view text,
                       std::string* error) noexcept {
  const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  int failure = 0;
  while (done < text.size()) {
    const ssize_t written =
        ::pwrite(fd, text.data() + done, text.size() - done, static_cast<off_t>(offset + done));
    if (written < 0) {
      if (errno == EINTR) continue;
      failure = errno;
      break;
    }
    done += static_cast<std::size_t>(written);
  }
  if (failure == 0 && ::ftruncate(fd, static_cast<off_t>(offset + text.size())) != 0)
    failure = errno;
  ::close(fd);
  if (failure != 0) {
    *error = std::strerror(failure);
    return false;
  }
  return true;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
