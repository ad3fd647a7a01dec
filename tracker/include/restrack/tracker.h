// restrack/tracker.h — everything of restrack::tracker in one include.
#pragma once

#include "restrack/config.h"
#include "restrack/diagnostic.h"
#include "restrack/guard.h"
#include "restrack/kind.h"
#include "restrack/live.h"
#include "restrack/options.h"
#include "restrack/report.h"
#include "restrack/suppressions.h"
#include "restrack/trace.h"
#include "restrack/tracked_fd.h"
#include "restrack/tracked_handle.h"  // Windows only
