// ThreadValue and ThreadObject (thread_slot.h): the per-thread state of the hot paths,
// a thread_local on Linux and a TEB slot on Windows, with the same behaviour on both.
#include <gtest/gtest.h>

#include <array>
#include <thread>

#include "thread_slot.h"

using restrack::internal::ThreadObject;
using restrack::internal::ThreadValue;

namespace {

int first = 1;
int second = 2;

TEST(ThreadSlotTest, ValueStartsEmptyInEveryThreadAndIsThatThreadsOwn) {
  constexpr ThreadValue<int*, struct Pointer> pointer;
  constexpr ThreadValue<unsigned, struct Number> number;
  EXPECT_EQ(pointer.get(), nullptr);
  pointer.set(&first);
  number.set(7);
  int* seen_pointer = &second;
  unsigned seen_number = 99;
  int* exchanged = nullptr;
  std::thread([&] {
    seen_pointer = pointer.get();
    seen_number = number.get();
    pointer.set(&second);
    exchanged = pointer.exchange(nullptr);
  }).join();
  EXPECT_EQ(seen_pointer, nullptr);
  EXPECT_EQ(seen_number, 0u);
  EXPECT_EQ(exchanged, &second);
  EXPECT_EQ(pointer.get(), &first);
  EXPECT_EQ(number.exchange(8), 7u);
  EXPECT_EQ(number.get(), 8u);
}

// What the registry's hand-on of an ended thread's shard relies on.
constexpr ThreadValue<int*, struct ValueAtThreadEnd> value_at_end;

struct LastLook {
  LastLook() = default;
  LastLook(const LastLook&) = delete;
  LastLook& operator=(const LastLook&) = delete;
  ~LastLook() { *seen = value_at_end.get(); }
  int** seen = nullptr;
};

TEST(ThreadSlotTest, ValueReadFromAThreadLocalDestructorIsWhatTheThreadSet) {
  int* seen = nullptr;
  std::thread([&] {
    thread_local LastLook look;
    look.seen = &seen;
    value_at_end.set(&second);
  }).join();
  EXPECT_EQ(seen, &second);
}

using Counters = std::array<int, 4>;

TEST(ThreadSlotTest, ObjectIsMadeOncePerThreadAndStartsValueInitialized) {
  constexpr ThreadObject<Counters, struct PerThreadCounters> counters;
  Counters* mine = counters.find();
  ASSERT_NE(mine, nullptr);
  ++(*counters.find())[2];
  Counters* theirs = nullptr;
  Counters theirs_at_start{-1, -1, -1, -1};
  std::thread([&] {
    theirs = counters.find();
    if (theirs == nullptr) return;
    theirs_at_start = *theirs;
    (*counters.find())[2] = 40;
  }).join();
  EXPECT_EQ(counters.find(), mine);
  EXPECT_NE(theirs, nullptr);
  EXPECT_NE(theirs, mine);
  EXPECT_EQ(theirs_at_start, (Counters{0, 0, 0, 0}));
  EXPECT_EQ(*mine, (Counters{0, 0, 1, 0}));
}

}  // namespace
