#include "test_resource.h"

TestResource::TestResource(const char* name, const restrack::Kind& kind) : name_(name) {
  guard_.open(kind, this, &TestResource::describe);  // marker: TestResource opens
}

TestResource::~TestResource() {
  if (open_) {
    guard_.release_and_warn([]() noexcept {});  // marker: TestResource destroyed
  }
}

void TestResource::close() {
  guard_.close();  // marker: TestResource closes
  open_ = false;
}

void TestResource::use() const {
  guard_.check_use();  // marker: TestResource used
}

std::string TestResource::describe(const void* self) {
  return static_cast<const TestResource*>(self)->name_;
}
