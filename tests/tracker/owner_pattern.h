// The owner pattern of restrack/guard.h, compiled in both tracking modes (regression_test.cc
// with tracking on, compiled_out_test.cc with it compiled out): the owner's own state
// decides whether it still holds its resource, so closing twice releases once either way.
#pragma once

#include "restrack/guard.h"

namespace restrack_test {

inline constexpr restrack::Kind kConnection{"connection"};

class Connection {
 public:
  explicit Connection(int* releases) : releases_(releases) { guard_.open(kConnection, this); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (open_) guard_.release_and_warn([this]() noexcept { ++*releases_; });
  }
  void close() {
    guard_.close();  // a second close() reports "closed twice"
    if (open_) {
      open_ = false;
      ++*releases_;
    }
  }

 private:
  int* releases_;
  bool open_ = true;
  [[no_unique_address]] restrack::ResourceGuard guard_;
};

}  // namespace restrack_test
