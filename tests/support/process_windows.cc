// Windows implementation of support/process.h: CreateProcess with the child's standard
// output and error redirected into temporary files.
#include <windows.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>

#include "support/process.h"

namespace {

// A file the child's stdout or stderr goes to, inheritable by the child; removed when
// done.
class CaptureFile {
 public:
  CaptureFile() {
    char directory[MAX_PATH + 1];
    char path[MAX_PATH + 1];
    if (GetTempPathA(sizeof directory, directory) == 0 ||
        GetTempFileNameA(directory, "rst", 0, path) == 0) {
      throw std::runtime_error("cannot make a temporary file");
    }
    path_ = path;
    SECURITY_ATTRIBUTES inheritable{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
    handle_ = CreateFileA(path, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &inheritable,
                          CREATE_ALWAYS, FILE_ATTRIBUTE_TEMPORARY, nullptr);
    if (handle_ == INVALID_HANDLE_VALUE) throw std::runtime_error("cannot open " + path_);
  }
  CaptureFile(const CaptureFile&) = delete;
  CaptureFile& operator=(const CaptureFile&) = delete;
  ~CaptureFile() {
    CloseHandle(handle_);
    DeleteFileA(path_.c_str());
  }

  HANDLE handle() const { return handle_; }

  std::string contents() const {
    std::ifstream file(path_, std::ios::binary);
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
  }

 private:
  std::string path_;
  HANDLE handle_ = INVALID_HANDLE_VALUE;
};

bool inherited(std::string_view variable) {
  return !variable.starts_with("GTEST_") && !variable.starts_with("RESTRACK_") &&
         !variable.starts_with("NO_COLOR=");
}

// One argument as the C runtime's command-line parser reads it back (quotes, and the
// backslashes before them, escaped).
std::string quoted(const std::string& argument) {
  if (!argument.empty() && argument.find_first_of(" \t\"") == std::string::npos) return argument;
  std::string text = "\"";
  std::size_t backslashes = 0;
  for (char c : argument) {
    if (c == '\\') {
      ++backslashes;
      continue;
    }
    if (c == '"') backslashes = 2 * backslashes + 1;
    text.append(backslashes, '\\');
    backslashes = 0;
    text += c;
  }
  text.append(2 * backslashes, '\\');
  return text + "\"";
}

// The C runtime ends lines with "\r\n" on Windows; the tests compare text with "\n".
std::string with_unix_line_ends(std::string text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    out += text[i];
  }
  return out;
}

}  // namespace

ProcessResult run_process(const std::string& program, const std::vector<std::string>& arguments,
                          const std::vector<std::string>& environment) {
  std::string command_line = quoted(program);
  for (const std::string& argument : arguments) command_line += " " + quoted(argument);

  // The environment block: "NAME=value\0" each, then one more "\0".
  std::string block;
  char* strings = GetEnvironmentStringsA();
  for (const char* variable = strings; *variable != '\0'; variable += std::strlen(variable) + 1) {
    if (inherited(variable)) block.append(variable).push_back('\0');
  }
  FreeEnvironmentStringsA(strings);
  for (const std::string& variable : environment) block.append(variable).push_back('\0');
  block.push_back('\0');

  const CaptureFile out;
  const CaptureFile err;
  STARTUPINFOA startup{};
  startup.cb = sizeof startup;
  startup.dwFlags = STARTF_USESTDHANDLES;
  startup.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
  startup.hStdOutput = out.handle();
  startup.hStdError = err.handle();
  PROCESS_INFORMATION process{};
  if (!CreateProcessA(program.c_str(), command_line.data(), nullptr, nullptr, TRUE, 0, block.data(),
                      nullptr, &startup, &process)) {
    throw std::runtime_error("cannot run " + program + ": CreateProcess failed with error " +
                             std::to_string(GetLastError()));
  }
  CloseHandle(process.hThread);
  WaitForSingleObject(process.hProcess, INFINITE);
  DWORD status = 0;
  GetExitCodeProcess(process.hProcess, &status);
  CloseHandle(process.hProcess);

  ProcessResult result;
  result.exit_code = static_cast<int>(status);
  result.out = with_unix_line_ends(out.contents());
  result.err = with_unix_line_ends(err.contents());
  return result;
}
