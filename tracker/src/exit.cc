// The tracker's lifetime: what happens at start-up (the report store installed,
// RESTRACK_OPTIONS read and its suppressions checked, the fork handlers registered) and at
// exit (resources still open reported, the JSON report written, the exit status forced).
// Top of the layering: it calls every layer below and nothing calls it.
#include "dispatch.h"
#include "interposer.h"
#include "logging.h"
#include "platform.h"
#include "registry.h"
#include "report_json.h"
#include "restrack/diagnostic.h"
#include "restrack/live.h"
#include "settings.h"
#include "stack_depot.h"
#include "suppressions_internal.h"
#include "symbolize.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// fork() in one thread while another holds a tracker lock would leave the child with a
// lock nobody releases: hold them all across the fork, in the layers' order.
void before_fork() {
  lock_settings_for_fork();
  lock_registry_for_fork();
  lock_depot_for_fork();
  lock_symbols_for_fork();
  lock_suppressions_for_fork();
  lock_dispatch_for_fork();
  lock_report_for_fork();
}

void after_fork() {
  unlock_report_after_fork();
  unlock_dispatch_after_fork();
  unlock_suppressions_after_fork();
  unlock_symbols_after_fork();
  unlock_depot_after_fork();
  unlock_registry_after_fork();
  unlock_settings_after_fork();
}

// Constructed before any static object of default priority, so destroyed after all of
// them: resources leaked by static objects are reported before the exit report.
struct Lifetime {
  Lifetime() {
    install_report_store();
    register_fork_handlers(&before_fork, &after_fork, &after_fork);
    // RESTRACK_OPTIONS now, and its suppressions file, so that their problems are named
    // at start-up.
    initialize_settings();
    std::vector<std::string> errors;
    load_suppressions(settings().suppressions, settings_generation(), &errors);
    for (const std::string& error : errors) log_error(error);
    // Under restrack-run, descriptors are tracked through this tracker from now on.
    announce_to_interposer();
  }

  ~Lifetime() {
    // A handler may have called exit(): what the exit report raises cannot wait for it.
    dispatch_immediately_from_now_on();
    if (!hot_settings().enabled()) return;
    const Options options = settings();
    if (options.report_at_exit) {
      for_each_live(nullptr, [](std::vector<ResourceInfo>& batch) {
        for (ResourceInfo& info : batch) {
          Diagnostic diagnostic;
          diagnostic.type = DiagnosticType::open_at_exit;
          diagnostic.kind = info.kind;
          diagnostic.description = std::move(info.description);
          diagnostic.allocation_trace = info.allocation_trace;
          diagnostic.thread_id = info.thread_id;
          diagnostic.age = info.age;
          diagnostic.serial = info.serial;
          dispatch(diagnostic);
        }
      });
    }
    if (!options.report.empty()) write_exit_report(options.report);
    if (options.exit_code != 0 && error_count() > 0) exit_with_status(options.exit_code);
  }
};

__attribute__((init_priority(101))) Lifetime g_lifetime;

}  // namespace

// Referenced by the registry, so that the linker keeps this file (and the object above)
// in every program that tracks anything.
extern const bool kLifetimeLinked = true;

}  // namespace internal
RESTRACK_NAMESPACE_END
