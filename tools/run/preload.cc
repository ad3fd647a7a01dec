// The preloaded library's start: after the tracker compiled into it has started
// (init_priority 101, tracker/src/exit.cc), restrack-run takes the descriptors open now as
// inherited and starts tracking. Wrapped calls made before this — by the initializers of
// libraries loaded earlier — go straight through; what they left open counts as inherited.
#include "descriptors.h"

namespace {

__attribute__((constructor(102))) void start_restrack_run() { restrack::run::start(); }

}  // namespace
