// Windows implementation of report_file.h, on the C runtime's descriptors (binary mode:
// the report's bytes are written as they are, no "\n" becomes "\r\n"). A regular file is
// written under a temporary name and moved over the target (MoveFileEx replaces it); a
// device (NUL, CON) or a named pipe is written into. Windows programs meet symbolic links
// rarely and CreateFile follows them: the path is taken as the target.
#include <fcntl.h>
#include <io.h>
#include <sys/stat.h>
#include <windows.h>

#include <cerrno>
#include <cstring>

#include "platform.h"
#include "platform/windows_text.h"
#include "report_file.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// The longest file name (one path component) Windows file systems take.
constexpr std::size_t kMaxName = 255;

// ".<name>.<pid>.restrack.tmp" in the target's directory, shortened so that it fits in
// kMaxName however long the target's name is.
std::string temporary_for(const std::string& target) {
  const std::size_t slash = target.find_last_of("/\\");
  const std::string directory = slash == std::string::npos ? "" : target.substr(0, slash + 1);
  std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
  const std::string suffix = "." + std::to_string(current_process_id()) + ".restrack.tmp";
  const std::size_t room = kMaxName - 1 - suffix.size();
  if (name.size() > room) name.resize(room);
  return directory + "." + name + suffix;
}

// The C runtime's errno for the last Windows error of a file call.
int errno_of_last_error() {
  switch (GetLastError()) {
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
      return EACCES;
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
      return ENOENT;
    case ERROR_DISK_FULL:
      return ENOSPC;
    default:
      return EIO;
  }
}

// A descriptor writing into the device `path` names, if it names one that the C runtime's
// stat does not see (under Wine, NUL); -1 otherwise. Opening without creating has no
// effect on a path that names nothing, or a file.
int open_device(const std::wstring& path) {
  const int fd = ::_wopen(path.c_str(), _O_WRONLY | _O_BINARY | _O_NOINHERIT);
  if (fd < 0) return -1;
  if (GetFileType(reinterpret_cast<HANDLE>(::_get_osfhandle(fd))) == FILE_TYPE_CHAR) return fd;
  ::_close(fd);
  return -1;
}

}  // namespace

std::unique_ptr<ReportFile> ReportFile::create(const std::string& path,
                                               std::string* error) noexcept {
  try {
    std::unique_ptr<ReportFile> file(new ReportFile());
    file->target_ = path;
    const std::wstring wide = utf8_to_wide(path);
    struct _stat64 info {};
    const bool exists = ::_wstat64(wide.c_str(), &info) == 0;
    if (exists && (info.st_mode & _S_IFMT) == _S_IFDIR) {
      *error = std::strerror(EISDIR);
      return nullptr;
    }
    if (exists && (info.st_mode & _S_IFMT) != _S_IFREG) {
      // A device or a pipe: write into it.
      file->regular_ = false;
      file->fd_ = ::_wopen(wide.c_str(), _O_WRONLY | _O_BINARY | _O_NOINHERIT);
      if (file->fd_ < 0) {
        *error = std::strerror(errno);
        return nullptr;
      }
      return file;
    }
    if (const int device = open_device(wide); device >= 0) {
      file->regular_ = false;
      file->fd_ = device;
      return file;
    }
    file->temporary_ = temporary_for(file->target_);
    file->fd_ =
        ::_wopen(utf8_to_wide(file->temporary_).c_str(),
                 _O_WRONLY | _O_CREAT | _O_TRUNC | _O_BINARY | _O_NOINHERIT, _S_IREAD | _S_IWRITE);
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
  if (fd_ >= 0) ::_close(fd_);
  if (!temporary_.empty()) ::_wunlink(utf8_to_wide(temporary_).c_str());
}

bool ReportFile::flush() noexcept {
  const char* data = buffer_.data();
  std::size_t left = buffer_.size();
  while (left > 0 && error_ == 0) {
    const unsigned chunk = left > (1u << 30) ? (1u << 30) : static_cast<unsigned>(left);
    const int written = ::_write(fd_, data, chunk);
    if (written < 0) {
      error_ = errno;
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
  if (::_close(fd_) != 0 && error_ == 0) error_ = errno;
  fd_ = -1;
  try {
    if (error_ == 0 && !temporary_.empty() &&
        !MoveFileExW(utf8_to_wide(temporary_).c_str(), utf8_to_wide(target_).c_str(),
                     MOVEFILE_REPLACE_EXISTING)) {
      error_ = errno_of_last_error();
    }
  } catch (...) {
    error_ = ENOMEM;
  }
  if (error_ != 0) {
    *error = std::strerror(error_);
    return false;
  }
  temporary_.clear();  // moved: nothing to remove
  return true;
}

bool ReportFile::patch(const std::string& target, std::uint64_t offset, std::string_view text,
                       std::string* error) noexcept {
  int fd = -1;
  try {
    fd = ::_wopen(utf8_to_wide(target).c_str(), _O_WRONLY | _O_BINARY | _O_NOINHERIT);
  } catch (...) {
    errno = ENOMEM;
  }
  if (fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  int failure = 0;
  if (::_lseeki64(fd, static_cast<__int64>(offset), SEEK_SET) < 0) failure = errno;
  std::size_t done = 0;
  while (failure == 0 && done < text.size()) {
    const std::size_t left = text.size() - done;
    const unsigned chunk = left > (1u << 30) ? (1u << 30) : static_cast<unsigned>(left);
    const int written = ::_write(fd, text.data() + done, chunk);
    if (written < 0) {
      failure = errno;
      break;
    }
    done += static_cast<std::size_t>(written);
  }
  if (failure == 0) {
    failure = ::_chsize_s(fd, static_cast<__int64>(offset + text.size()));
  }
  ::_close(fd);
  if (failure != 0) {
    *error = std::strerror(failure);
    return false;
  }
  return true;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
