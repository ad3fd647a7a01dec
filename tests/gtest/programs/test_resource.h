// A tracked resource for the child programs. Its description is its name, so the failure
// text the driver expects does not depend on file descriptor numbers; its members are
// defined in test_resource.cc so that their frames carry that file's lines.
#pragma once

#include <string>

#include "restrack/guard.h"
#include "restrack/kind.h"

inline constexpr restrack::Kind kTestResource{"test resource"};
inline constexpr restrack::Kind kIgnoredResource{"ignored resource"};
inline constexpr restrack::Kind kSuppressedResource{"suppressed resource"};

class TestResource {
 public:
  explicit TestResource(const char* name, const restrack::Kind& kind = kTestResource);
  TestResource(const TestResource&) = delete;
  TestResource& operator=(const TestResource&) = delete;
  // Reports "unclosed" if still open.
  ~TestResource();

  void close();
  void use() const;

 private:
  static std::string describe(const void* self);

  std::string name_;
  bool open_ = true;
  restrack::ResourceGuard guard_;
};
