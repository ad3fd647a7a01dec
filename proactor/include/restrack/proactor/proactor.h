// restrack/proactor/proactor.h — everything of restrack::proactor in one include.
#pragma once

#include "restrack/proactor/call_site.h"
#include "restrack/proactor/combinators.h"
#include "restrack/proactor/errors.h"
#include "restrack/proactor/event_loop.h"
#include "restrack/proactor/future.h"
#include "restrack/proactor/pipe.h"
#include "restrack/proactor/protocol.h"
#include "restrack/proactor/server.h"
#include "restrack/proactor/socket.h"
#include "restrack/proactor/streams.h"
#include "restrack/proactor/subprocess.h"
#include "restrack/proactor/task.h"
#include "restrack/proactor/transport.h"
