// Internal to restrack::gtest: the process-wide record of what has been blamed, and the
// diagnostics collected for the scope that is running.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <unordered_set>
#include <vector>

#include "no_destructor.h"
#include "restrack/config.h"
#include "restrack/diagnostic.h"
#include "restrack/gtest/listener.h"
#include "restrack/live.h"

RESTRACK_NAMESPACE_BEGIN
namespace gtest::internal {

// Where a diagnostic raised now is blamed.
enum class Scope : std::uint8_t { program, suite, test };

// Never destroyed: the tracker may dispatch diagnostics during static destruction, long
// after GoogleTest is done with the listener.
class Ledger final : public DiagnosticHandler {
 public:
  static Ledger& instance();

  ListenerOptions options() const;
  void set_options(ListenerOptions options);

  // Subscribes to the tracker's diagnostics; later calls do nothing.
  void subscribe();

  // From now on diagnostics are collected for `scope`.
  void enter(Scope scope);

  // Hands over what was collected for `scope`, in dispatch order, and collects for `next`
  // from now on. An `unclosed` diagnostic for a resource already blamed is left out: the
  // leak was reported when its scope ended.
  std::vector<Diagnostic> leave(Scope scope, Scope next);

  // Removes from `resources` those already blamed on some scope and marks the rest as
  // blamed, so each resource is reported at most once.
  void claim(std::vector<ResourceInfo>& resources);

  void on_diagnostic(const Diagnostic& diagnostic) noexcept override;

 private:
  friend class restrack::internal::NoDestructor<Ledger>;
  Ledger() = default;

  // Never call into the tracker while holding it: the tracker may be dispatching to
  // on_diagnostic, which takes it.
  mutable std::mutex mutex_;
  ListenerOptions options_;
  bool subscribed_ = false;
  Scope scope_ = Scope::program;
  std::array<std::vector<Diagnostic>, 3> collected_;
  std::unordered_set<std::uint64_t> blamed_serials_;
};

}  // namespace gtest::internal
RESTRACK_NAMESPACE_END
