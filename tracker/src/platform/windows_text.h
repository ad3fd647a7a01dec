// Internal, Windows only: conversions between the tracker's UTF-8 strings and the wide
// strings of the Windows API, and the text of a Windows error code.
#pragma once

#include <windows.h>

#include <string>
#include <string_view>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

inline std::wstring utf8_to_wide(std::string_view text) {
  if (text.empty()) return {};
  const int size =
      MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), nullptr, 0);
  std::wstring wide(static_cast<std::size_t>(size > 0 ? size : 0), L'\0');
  if (size > 0) {
    MultiByteToWideChar(CP_UTF8, 0, text.data(), static_cast<int>(text.size()), wide.data(), size);
  }
  return wide;
}

inline std::string wide_to_utf8(std::wstring_view wide) {
  if (wide.empty()) return {};
  const int size = WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()),
                                       nullptr, 0, nullptr, nullptr);
  std::string text(static_cast<std::size_t>(size > 0 ? size : 0), '\0');
  if (size > 0) {
    WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), text.data(), size,
                        nullptr, nullptr);
  }
  return text;
}

// "\\?\C:\dir\file" (what GetFinalPathNameByHandle returns) as users write it.
inline std::wstring without_long_path_prefix(std::wstring path) {
  constexpr std::wstring_view kUnc = L"\\\\?\\UNC\\";
  constexpr std::wstring_view kLong = L"\\\\?\\";
  if (path.starts_with(kUnc)) return L"\\\\" + path.substr(kUnc.size());
  if (path.starts_with(kLong)) return path.substr(kLong.size());
  return path;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
