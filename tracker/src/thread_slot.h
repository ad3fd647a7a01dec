// Per-thread state of restrack's hot paths: the registry's shard, the last trace walked,
// the proactor's running loop and task, the recycler's free lists.
//
//   constexpr ThreadValue<Shard*, struct ThisThreadsShard> tls_shard;  // T{} in each thread
//   tls_shard.set(shard);  ...  Shard* shard = tls_shard.get();
//
//   constexpr ThreadObject<RecentWalk, struct LastWalk> tls_last_walk;  // made on first use
//   if (RecentWalk* walk = tls_last_walk.find()) ...  // null once the thread has ended
//
// The variables are names only (empty, constexpr); the storage is one per thread for each
// Tag, so every variable needs a Tag of its own, declared in its .cc file's anonymous
// namespace (which also keeps the storage out of other translation units).
//
// On Linux each is a thread_local: an access is a load relative to %fs. On Windows each is
// one TLS index (TlsAlloc, claimed on first use), read and written in the thread's TEB
// (`TlsSlots`, documented in <winternl.h>) with one instruction relative to %gs, because
// mingw-w64's GCC emulates thread_local: every access to one calls __emutls_get_address,
// which calls winpthreads' pthread_getspecific, which saves the thread's last error, takes
// a spin lock and restores the error. Under Wine those calls were three quarters of a
// guarded handle's open+close at trace depth 0 (docs/PERFORMANCE.md, "Per-thread state on
// Windows"). Where no index below 64 is left (the TEB holds 64; other libraries take some),
// a variable falls back to a thread_local.
//
// The emulation also frees a thread's thread_locals before their destructors run (seen
// under Wine: a thread_local read from a thread_local destructor is a new, zeroed one). A
// ThreadValue lives in the TEB, which outlasts them: the registry's hand-on of an ended
// thread's shard reads the shard there. A ThreadObject is allocated on the thread's first
// use and freed by a thread_local destructor at thread end; find() returns null from then
// on, so T is something a thread can do without (a memo), and trivially destructible. (A
// thread whose first use comes from a thread_local destructor may keep its object: the
// destructor registered then is the emulation's to run or not.)
//
// Neither touches the thread's last error (GetLastError), so a Windows error code survives
// tracking between the failing call and its report.
#pragma once

#include "restrack/config.h"

#include <atomic>
#include <cstdint>
#include <new>
#include <type_traits>

#if defined(_WIN32)
#include <intrin.h>
#endif

RESTRACK_NAMESPACE_BEGIN
namespace internal {

#if defined(_WIN32)

// The TLS index a variable uses; claimed on first use (platform/os_windows.cc).
inline constexpr std::uint32_t kUnclaimedThreadSlot = 0xffffffff;
inline constexpr std::uint32_t kNoThreadSlot = 0xfffffffe;  // none left: use a thread_local
inline constexpr std::uint32_t kThreadSlotsInTeb = 64;

// Claims an index for `index` if it has none (once, whichever thread comes first) and
// returns it: below kThreadSlotsInTeb, or kNoThreadSlot.
std::uint32_t claim_thread_slot(std::atomic<std::uint32_t>& index) noexcept;

// TEB::TlsSlots on x86-64.
inline std::uintptr_t read_thread_slot(std::uint32_t index) noexcept {
  return __readgsqword(0x1480 + index * sizeof(void*));
}
inline void write_thread_slot(std::uint32_t index, std::uintptr_t word) noexcept {
  __writegsqword(0x1480 + index * sizeof(void*), word);
}

// Keeps the thread's last error (GetLastError) across the slow paths below, which may
// allocate or register a thread_local (platform/os_windows.cc).
class KeepLastError {
 public:
  KeepLastError() noexcept;
  ~KeepLastError();
  KeepLastError(const KeepLastError&) = delete;
  KeepLastError& operator=(const KeepLastError&) = delete;

 private:
  std::uint32_t error_;
};

template <typename T, typename Tag>
class ThreadValue {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= sizeof(std::uintptr_t));

 public:
  constexpr ThreadValue() noexcept = default;

  T get() const noexcept {
    const std::uint32_t index = index_.load(std::memory_order_acquire);
    if (index < kThreadSlotsInTeb) [[likely]] {
      return from_word(read_thread_slot(index));
    }
    return get_unclaimed();
  }

  void set(T value) const noexcept {
    const std::uint32_t index = index_.load(std::memory_order_acquire);
    if (index < kThreadSlotsInTeb) [[likely]] {
      write_thread_slot(index, to_word(value));
    } else {
      set_unclaimed(value);
    }
  }

  T exchange(T value) const noexcept {
    const T previous = get();
    set(value);
    return previous;
  }

 private:
  [[gnu::noinline]] static T get_unclaimed() noexcept {
    const KeepLastError keep;
    const std::uint32_t index = claim_thread_slot(index_);
    return index < kThreadSlotsInTeb ? from_word(read_thread_slot(index)) : fallback_;
  }
  [[gnu::noinline]] static void set_unclaimed(T value) noexcept {
    const KeepLastError keep;
    const std::uint32_t index = claim_thread_slot(index_);
    if (index < kThreadSlotsInTeb) {
      write_thread_slot(index, to_word(value));
    } else {
      fallback_ = value;
    }
  }

  // A slot starts as 0 in every thread, which reads back as T{}.
  static T from_word(std::uintptr_t word) noexcept {
    if constexpr (std::is_pointer_v<T>) {
      return reinterpret_cast<T>(word);
    } else {
      return static_cast<T>(word);
    }
  }
  static std::uintptr_t to_word(T value) noexcept {
    if constexpr (std::is_pointer_v<T>) {
      return reinterpret_cast<std::uintptr_t>(value);
    } else {
      return static_cast<std::uintptr_t>(value);
    }
  }

  static inline std::atomic<std::uint32_t> index_{kUnclaimedThreadSlot};
  static inline thread_local T fallback_{};
};

template <typename T, typename Tag>
class ThreadObject {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  constexpr ThreadObject() noexcept = default;

  T* find() const noexcept {
    const std::uint32_t index = index_.load(std::memory_order_acquire);
    if (index < kThreadSlotsInTeb) [[likely]] {
      const std::uintptr_t word = read_thread_slot(index);
      if (word > kReleased) [[likely]]
        return reinterpret_cast<T*>(word);
      if (word == kReleased) return nullptr;
    }
    return attach();
  }

 private:
  static constexpr std::uintptr_t kReleased = 1;  // the slot's word once the thread ended

  struct Release {
    Release() = default;
    Release(const Release&) = delete;
    Release& operator=(const Release&) = delete;
    ~Release() {
      const std::uint32_t index = index_.load(std::memory_order_acquire);
      T* object = reinterpret_cast<T*>(read_thread_slot(index));
      write_thread_slot(index, kReleased);
      delete object;
    }
  };

  [[gnu::noinline]] static T* attach() noexcept {
    const KeepLastError keep;
    const std::uint32_t index = claim_thread_slot(index_);
    if (index >= kThreadSlotsInTeb) return &fallback_;
    T* object = new (std::nothrow) T();
    if (object == nullptr) return nullptr;
    write_thread_slot(index, reinterpret_cast<std::uintptr_t>(object));
    thread_local Release release;  // registers the release at thread end
    return object;
  }

  static inline std::atomic<std::uint32_t> index_{kUnclaimedThreadSlot};
  static inline thread_local T fallback_{};
};

#else

template <typename T, typename Tag>
class ThreadValue {
 public:
  constexpr ThreadValue() noexcept = default;
  T get() const noexcept { return value_; }
  void set(T value) const noexcept { value_ = value; }
  T exchange(T value) const noexcept {
    const T previous = value_;
    value_ = value;
    return previous;
  }

 private:
  static inline thread_local T value_{};
};

template <typename T, typename Tag>
class ThreadObject {
  static_assert(std::is_trivially_destructible_v<T>);

 public:
  constexpr ThreadObject() noexcept = default;
  T* find() const noexcept { return &object_; }

 private:
  static inline thread_local T object_{};
};

#endif

}  // namespace internal
RESTRACK_NAMESPACE_END
