// Child program: a GoogleTest suite run in shards (GTEST_TOTAL_SHARDS, GTEST_SHARD_INDEX),
// linked with restrack::gtest_main. Several tests leak the same way from the same helper,
// so one site collects problems from several tests and shards.
#include <gtest/gtest.h>

#include "widget.h"

namespace {

void leak_buffer(const char* name) {
  Widget buffer(name);  // marker: leak_buffer
}

}  // namespace

TEST(Parser, ReadsHeader) { leak_buffer("header"); }    // marker: ReadsHeader
TEST(Parser, ReadsBody) { leak_buffer("body"); }        // marker: ReadsBody
TEST(Parser, ReadsTrailer) { leak_buffer("trailer"); }  // marker: ReadsTrailer
TEST(Parser, ClosesEverything) {
  Widget widget("closed");
  widget.close();
}
TEST(Cache, KeepsAnEntryOpen) {
  new Widget("cache-slot", kGadget);  // marker: KeepsAnEntryOpen
}
TEST(Cache, Evicts) {
  Widget entry("evicted");
  entry.close();
}
