// A tracked resource for the report tests' child programs. Its description is its name,
// so expected output does not depend on descriptor numbers; its members live in
// widget.cc so that their frames carry that file's lines (found by "marker:" comments).
#pragma once

#include <string>

#include "restrack/guard.h"
#include "restrack/kind.h"

inline constexpr restrack::Kind kWidget{"widget"};
inline constexpr restrack::Kind kGadget{"gadget"};

class Widget {
 public:
  explicit Widget(const char* name, const restrack::Kind& kind = kWidget);
  Widget(const Widget&) = delete;
  Widget& operator=(const Widget&) = delete;
  ~Widget();  // "unclosed" if still open

  void close();
  void use() const;

 private:
  static std::string describe(const void* self);

  std::string name_;
  restrack::ResourceGuard guard_;
};
