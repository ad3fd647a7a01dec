#include "ledger.h"

#include <algorithm>
#include <utility>

RESTRACK_NAMESPACE_BEGIN
namespace gtest::internal {

namespace {

std::size_t index_of(Scope scope) { return static_cast<std::size_t>(scope); }

}  // namespace

Ledger& Ledger::instance() {
  static restrack::internal::NoDestructor<Ledger> ledger;
  return *ledger;
}

ListenerOptions Ledger::options() const {
  const std::lock_guard lock(mutex_);
  return options_;
}

void Ledger::set_options(ListenerOptions options) {
  const std::lock_guard lock(mutex_);
  options_ = std::move(options);
}

void Ledger::subscribe() {
  {
    const std::lock_guard lock(mutex_);
    if (subscribed_) return;
    subscribed_ = true;
  }
  add_handler(this);
}

void Ledger::enter(Scope scope) {
  const std::lock_guard lock(mutex_);
  scope_ = scope;
}

std::vector<Diagnostic> Ledger::leave(Scope scope, Scope next) {
  const std::lock_guard lock(mutex_);
  std::vector<Diagnostic> collected = std::move(collected_[index_of(scope)]);
  collected_[index_of(scope)].clear();
  scope_ = next;
  // A resource claimed after its diagnostic arrived (destroyed while the live set was
  // being read) is reported once, as left open.
  std::erase_if(collected, [this](const Diagnostic& diagnostic) {
    return diagnostic.type == DiagnosticType::unclosed &&
           blamed_serials_.contains(diagnostic.serial);
  });
  return collected;
}

void Ledger::claim(std::vector<ResourceInfo>& resources) {
  const std::lock_guard lock(mutex_);
  std::erase_if(resources, [this](const ResourceInfo& resource) {
    return !blamed_serials_.insert(resource.serial).second;
  });
}

void Ledger::on_diagnostic(const Diagnostic& diagnostic) noexcept {
  try {
    const std::lock_guard lock(mutex_);
    if (diagnostic.type == DiagnosticType::unclosed &&
        blamed_serials_.contains(diagnostic.serial)) {
      return;
    }
    collected_[index_of(scope_)].push_back(diagnostic);
  } catch (...) {
    // Out of memory while recording: the tracker's own output still shows the warning,
    // and a handler must not throw.
  }
}

}  // namespace gtest::internal
RESTRACK_NAMESPACE_END
