// restrack_test_child: the child program of the subprocess tests, the same on every
// platform (no /bin/sh on Windows). Its arguments are commands, run in order:
//
//   out TEXT     writes TEXT to stdout        err TEXT    writes TEXT to stderr
//   echo         copies stdin to stdout until end-of-file
//   args A...    writes each argument after it as "<A>\n", then exits 0
//   cwd          writes the working directory's last component and "\n"
//   env NAME     writes NAME's value and "\n", or "unset\n"
//   handle N     Windows: writes "open\n" if the handle value N is open here, else "closed\n"
//   sleep MS     sleeps MS milliseconds
//   exit N       exits with status N (without it: 0)
//
// Output is binary (no "\r\n" on Windows) and unbuffered. Arguments arrive as UTF-8: on
// Windows they are read from the wide command line, as CommandLineToArgvW splits it.
#ifdef _WIN32
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <shellapi.h>
#endif

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

namespace {

#ifdef _WIN32
std::string to_utf8(const wchar_t* wide) {
  const int size = WideCharToMultiByte(CP_UTF8, 0, wide, -1, nullptr, 0, nullptr, nullptr);
  std::string text(static_cast<std::size_t>(size > 0 ? size : 1), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide, -1, text.data(), size, nullptr, nullptr);
  text.resize(text.size() - 1);
  return text;
}

std::vector<std::string> arguments(int, char**) {
  int count = 0;
  wchar_t** wide = CommandLineToArgvW(GetCommandLineW(), &count);
  std::vector<std::string> result;
  for (int i = 0; i < count; ++i) result.push_back(to_utf8(wide[i]));
  LocalFree(wide);
  return result;
}
#else
std::vector<std::string> arguments(int argc, char** argv) { return {argv, argv + argc}; }
#endif

void write(std::FILE* stream, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stream);
  std::fflush(stream);
}

}  // namespace

int main(int argc, char** argv) {
#ifdef _WIN32
  _setmode(_fileno(stdin), _O_BINARY);
  _setmode(_fileno(stdout), _O_BINARY);
  _setmode(_fileno(stderr), _O_BINARY);
#endif
  const std::vector<std::string> args = arguments(argc, argv);
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& command = args[i];
    const bool has_operand = i + 1 < args.size();
    if (command == "out" && has_operand) {
      write(stdout, args[++i]);
    } else if (command == "err" && has_operand) {
      write(stderr, args[++i]);
    } else if (command == "echo") {
      char buffer[65536];
      std::size_t count = 0;
      while ((count = std::fread(buffer, 1, sizeof buffer, stdin)) > 0) {
        write(stdout, std::string(buffer, count));
      }
    } else if (command == "args") {
      for (std::size_t j = i + 1; j < args.size(); ++j) write(stdout, "<" + args[j] + ">\n");
      return 0;
    } else if (command == "cwd") {
      write(stdout, std::filesystem::current_path().filename().string() + "\n");
    } else if (command == "env" && has_operand) {
      const char* value = std::getenv(args[++i].c_str());
      write(stdout, std::string(value != nullptr ? value : "unset") + "\n");
#ifdef _WIN32
    } else if (command == "handle" && has_operand) {
      DWORD flags = 0;
      const auto value = static_cast<std::uintptr_t>(std::stoull(args[++i]));
      write(stdout,
            GetHandleInformation(reinterpret_cast<HANDLE>(value), &flags) ? "open\n" : "closed\n");
#endif
    } else if (command == "sleep" && has_operand) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(args[++i])));
    } else if (command == "exit" && has_operand) {
      return std::stoi(args[++i]);
    } else {
      write(stderr, "restrack_test_child: unknown command " + command + "\n");
      return 125;
    }
  }
  return 0;
}
