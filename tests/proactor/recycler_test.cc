// The per-thread recycling of the loop's small allocations (recycler.h).
#include "recycler.h"

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

namespace {

using restrack::internal::kRecycling;
using restrack::internal::recycled_allocate;
using restrack::internal::recycled_deallocate;

constexpr const char* kNotRecycling = "sanitizer builds do not recycle, so use after free shows";

TEST(RecyclerTest, AFreedBlockIsTheNextOneHandedOutInItsSizeClass) {
  if (!kRecycling) GTEST_SKIP() << kNotRecycling;
  void* first = recycled_allocate(200);
  recycled_deallocate(first, 200);
  void* second = recycled_allocate(250);  // 193..256 bytes: the same 64-byte class
  EXPECT_EQ(second, first);
  void* other_class = recycled_allocate(100);
  EXPECT_NE(other_class, first);
  recycled_deallocate(other_class, 100);
  recycled_deallocate(second, 250);
}

TEST(RecyclerTest, FreedBlocksComeBackLastFreedFirst) {
  if (!kRecycling) GTEST_SKIP() << kNotRecycling;
  void* blocks[3];
  for (void*& block : blocks) block = recycled_allocate(200);
  for (void* block : blocks) recycled_deallocate(block, 200);
  EXPECT_EQ(recycled_allocate(256), blocks[2]);
  EXPECT_EQ(recycled_allocate(193), blocks[1]);
  EXPECT_EQ(recycled_allocate(220), blocks[0]);
  for (void* block : blocks) recycled_deallocate(block, 200);
}

// A loop with 64 connections frees 128 operations, futures and buffers in one iteration;
// a cache of 64 blocks a class sent half of them to malloc's slow paths.
TEST(RecyclerTest, AThreadKeeps512FreedBlocksOfTheSmallestClass) {
  if (!kRecycling) GTEST_SKIP() << kNotRecycling;
  ASSERT_EQ(restrack::internal::kept_blocks(64), 512);
  ASSERT_EQ(restrack::internal::kept_blocks(1024), 64);  // never fewer than kBlocksPerClass
  std::vector<void*> blocks(512);
  for (void*& block : blocks) block = recycled_allocate(64);
  for (void* block : blocks) recycled_deallocate(block, 64);
  std::vector<void*> again(512);
  for (void*& block : again) block = recycled_allocate(64);
  EXPECT_TRUE(std::equal(again.begin(), again.end(), blocks.rbegin()));
  for (void* block : again) recycled_deallocate(block, 64);
}

}  // namespace
