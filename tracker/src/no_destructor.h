// Storage for process-wide singletons that must outlive static destruction: the object
// is constructed in place on first use and its destructor never runs.
#pragma once

#include "restrack/config.h"

#include <new>
#include <utility>

RESTRACK_NAMESPACE_BEGIN
namespace internal {

template <class T>
class NoDestructor {
 public:
  template <class... Args>
  explicit NoDestructor(Args&&... args) {
    new (storage_) T(std::forward<Args>(args)...);
  }
  NoDestructor(const NoDestructor&) = delete;
  NoDestructor& operator=(const NoDestructor&) = delete;

  T& operator*() noexcept { return *std::launder(reinterpret_cast<T*>(storage_)); }
  T* operator->() noexcept { return &**this; }

 private:
  alignas(T) unsigned char storage_[sizeof(T)];
};

}  // namespace internal
RESTRACK_NAMESPACE_END
