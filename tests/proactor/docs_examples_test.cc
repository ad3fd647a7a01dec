// Runs the examples of docs/transports.md, which the build extracts from the page into
// transports_doc_examples.cc (tests/proactor/CMakeLists.txt): a page that drifts from the
// API fails to compile, one whose examples stop working fails here.
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "capture.h"
#include "restrack/proactor/proactor.h"

namespace doc_examples {
restrack::Task<std::string> echo_once(restrack::EventLoop& loop);
restrack::Task<std::string> ask_pipe_server(restrack::EventLoop& loop, std::string name);
restrack::Task<int> run_child(restrack::EventLoop& loop);
restrack::Task<std::string> talk_with_streams(restrack::EventLoop& loop);
restrack::Task<std::string> run_cat(restrack::EventLoop& loop);
}  // namespace doc_examples

namespace restrack_test {
namespace {

class DocsExamplesTest : public testing::Test {
 protected:
  ~DocsExamplesTest() override {
    if (!loop.is_closed()) loop.close();
  }
  DiagnosticRecorder diagnostics;
  restrack::EventLoop loop;
};

TEST_F(DocsExamplesTest, ConnectionExampleEchoesALine) {
  EXPECT_EQ(loop.run_until_complete(doc_examples::echo_once(loop)), "hello\n");
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(DocsExamplesTest, PipeServerExampleEchoesALine) {
  const std::string name = "/tmp/restrack-doc-" + std::to_string(::getpid()) + ".sock";
  EXPECT_EQ(loop.run_until_complete(doc_examples::ask_pipe_server(loop, name)), "hello\n");
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(DocsExamplesTest, SubprocessExampleGetsTheExitStatus) {
  EXPECT_EQ(loop.run_until_complete(doc_examples::run_child(loop)), 3);
  EXPECT_TRUE(diagnostics.recorded().empty());
}

TEST_F(DocsExamplesTest, StreamsExamplesTalkToAServerAndToCat) {
  EXPECT_EQ(loop.run_until_complete(doc_examples::talk_with_streams(loop)), "you said: hi\n");
  EXPECT_EQ(loop.run_until_complete(doc_examples::run_cat(loop)), "meow");
  EXPECT_TRUE(diagnostics.recorded().empty());
}

}  // namespace
}  // namespace restrack_test
