// Internal: the settings in force — the layer above capture, below the registry.
//
// The first use anywhere reads RESTRACK_OPTIONS (logging each problem). What the hot path
// needs is packed into one word read with a single atomic load, inline in the caller: no
// call into another translation unit, no struct returned through memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "restrack/config.h"
#include "restrack/options.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

// Bit 0 initialized, bit 1 enabled, bit 2 dwarf capture, bit 3 a report file is set,
// bits 4..7 action, bits 8..15 trace depth.
extern std::atomic<std::uint32_t> g_settings_word;

inline constexpr std::uint32_t kSettingsInitialized = 1u << 0;
inline constexpr std::uint32_t kSettingsEnabled = 1u << 1;
inline constexpr std::uint32_t kSettingsDwarf = 1u << 2;
inline constexpr std::uint32_t kSettingsReport = 1u << 3;

// Reads RESTRACK_OPTIONS once and returns the settings word.
std::uint32_t initialize_settings() noexcept;

struct HotSettings {
  std::uint32_t word;
  bool enabled() const noexcept { return (word & kSettingsEnabled) != 0; }
  bool reporting() const noexcept { return (word & kSettingsReport) != 0; }
  int trace_depth() const noexcept { return static_cast<int>((word >> 8) & 0xff); }
  CaptureMethod capture() const noexcept {
    return (word & kSettingsDwarf) != 0 ? CaptureMethod::dwarf : CaptureMethod::frame_pointer;
  }
  Action action() const noexcept { return static_cast<Action>((word >> 4) & 0xf); }
};

inline HotSettings hot_settings() noexcept {
  std::uint32_t word = g_settings_word.load(std::memory_order_acquire);
  if ((word & kSettingsInitialized) == 0) word = initialize_settings();
  return HotSettings{word};
}

// Checks `options` for values out of range and a report path with a NUL byte, appending
// one message for each to `errors` and keeping the value of `fallback` instead.
Options validated(const Options& options, const Options& fallback,
                  std::vector<std::string>* errors);

// The settings in force (a copy).
Options settings() noexcept;

// Puts `options` (already validated) in force.
void install_settings(const Options& options) noexcept;

// Counts install_settings() calls, so layers that derive state from the settings (the
// suppression rules) can tell when to rebuild it.
std::uint64_t settings_generation() noexcept;

// Held across fork().
void lock_settings_for_fork() noexcept;
void unlock_settings_after_fork() noexcept;

}  // namespace internal
RESTRACK_NAMESPACE_END
