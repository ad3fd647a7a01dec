// The C library's own definition of an interposed function: dlsym(RTLD_NEXT) once, then a
// relaxed load. Constant-initialized, so a wrapper called by another library's
// initializer before restrack-run's own has run still finds the real function.
#pragma once

#include <dlfcn.h>

#include <atomic>

namespace restrack::run {

template <class Fn>
class NextSymbol {
 public:
  explicit constexpr NextSymbol(const char* name) noexcept : name_(name) {}

  // The next definition of the name after this library, or null if there is none (a C
  // library too old to have it).
  Fn get() noexcept {
    Fn fn = fn_.load(std::memory_order_relaxed);
    if (fn == nullptr) {
      fn = reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name_));
      fn_.store(fn, std::memory_order_relaxed);
    }
    return fn;
  }

 private:
  const char* name_;
  std::atomic<Fn> fn_{nullptr};
};

}  // namespace restrack::run
