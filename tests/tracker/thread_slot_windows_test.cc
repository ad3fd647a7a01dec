// ThreadValue and ThreadObject on Windows (thread_slot.h): TEB slots that leave the
// thread's last error alone, objects gone once their thread ends, and a thread_local where
// no slot below 64 is left.
#include <windows.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <new>
#include <thread>
#include <vector>

#include "thread_slot.h"

using restrack::internal::ThreadObject;
using restrack::internal::ThreadValue;

namespace {

TEST(ThreadSlotWindowsTest, AccessesLeaveTheThreadsLastErrorAlone) {
  // First uses claim the slots; later ones read and write them.
  constexpr ThreadValue<int, struct ErrorCheckedValue> value;
  constexpr ThreadObject<std::array<int, 2>, struct ErrorCheckedObject> object;
  for (int round = 0; round < 2; ++round) {
    SetLastError(1234);
    value.set(round + 1);
    (*object.find())[1] = value.get();
    EXPECT_EQ(GetLastError(), 1234u) << "round " << round;
  }
  EXPECT_EQ((*object.find())[1], 2);
}

constexpr ThreadObject<std::array<int, 2>, struct ObjectAtThreadEnd> object_at_end;

struct LastLook {
  LastLook() = default;
  LastLook(const LastLook&) = delete;
  LastLook& operator=(const LastLook&) = delete;
  ~LastLook() { *seen = object_at_end.find(); }
  std::array<int, 2>** seen = nullptr;
};

TEST(ThreadSlotWindowsTest, ObjectIsGoneOnceItsThreadEnded) {
  // Freed among the thread's thread_local destructors; one that runs later finds none
  // (the capture then walks without its memo).
  std::array<int, 2> sentinel{};
  std::array<int, 2>* during = nullptr;
  std::array<int, 2>* at_end = &sentinel;
  std::thread([&] {
    thread_local LastLook look;  // made before the object: destroyed after it is freed
    look.seen = &at_end;
    during = object_at_end.find();
  }).join();
  EXPECT_NE(during, nullptr);
  EXPECT_EQ(at_end, nullptr);
}

// Counts its live allocations (trivially destructible, as a ThreadObject must be).
struct Counted {
  static void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    ++live;
    return ::operator new(size, std::nothrow);
  }
  static void operator delete(void* block) noexcept {
    --live;
    ::operator delete(block);
  }
  static inline std::atomic<int> live{0};
  int value = 0;
};

TEST(ThreadSlotWindowsTest, ObjectIsFreedWhenItsThreadEnds) {
  constexpr ThreadObject<Counted, struct CountedObject> object;
  int live_during = 0;
  std::thread([&] {
    object.find()->value = 3;
    live_during = Counted::live.load();
  }).join();
  EXPECT_EQ(live_during, 1);
  EXPECT_EQ(Counted::live.load(), 0);
}

// Takes every TLS index below 64 for as long as it lives.
class TebSlotsTaken {
 public:
  TebSlotsTaken() {
    std::vector<DWORD> others;
    for (;;) {
      const DWORD index = TlsAlloc();
      if (index == TLS_OUT_OF_INDEXES) break;
      if (index >= 64) {
        others.push_back(index);
        break;
      }
      taken_.push_back(index);
    }
    for (DWORD index : others) TlsFree(index);
  }
  ~TebSlotsTaken() {
    for (DWORD index : taken_) TlsFree(index);
  }
  TebSlotsTaken(const TebSlotsTaken&) = delete;
  TebSlotsTaken& operator=(const TebSlotsTaken&) = delete;

 private:
  std::vector<DWORD> taken_;
};

TEST(ThreadSlotWindowsTest, VariablesClaimedWhenNoTebSlotIsLeftUseAThreadLocal) {
  constexpr ThreadValue<int*, struct ValueWithoutSlot> value;
  constexpr ThreadObject<std::array<int, 4>, struct ObjectWithoutSlot> object;
  int mine = 0;
  int theirs = 0;
  std::array<int, 4>* my_object = nullptr;
  {
    const TebSlotsTaken taken;
    SetLastError(77);
    value.set(&mine);  // the first uses: no slot to claim
    my_object = object.find();
    (*my_object)[3] = 9;
    EXPECT_EQ(GetLastError(), 77u);
  }
  // Slots are free again, but the variables keep what they were given: their thread_locals.
  EXPECT_EQ(value.get(), &mine);
  ASSERT_EQ(object.find(), my_object);
  EXPECT_EQ((*my_object)[3], 9);
  int* seen = &theirs;
  std::array<int, 4> their_object{-1, -1, -1, -1};
  std::thread([&] {
    seen = value.get();
    value.set(&theirs);
    their_object = *object.find();
    (*object.find())[3] = 1;
  }).join();
  EXPECT_EQ(seen, nullptr);
  EXPECT_EQ(their_object, (std::array<int, 4>{0, 0, 0, 0}));
  EXPECT_EQ(value.get(), &mine);
  EXPECT_EQ((*my_object)[3], 9);
}

}  // namespace
