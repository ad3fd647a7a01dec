// restrack/proactor/socket_platform.h — picks the platform's spelling of the socket types
// that restrack/proactor/socket.h uses. One header per platform, as libuv's uv.h does.
#pragma once

#if defined(_WIN32)
#include "restrack/proactor/socket_windows.h"
#else
#include "restrack/proactor/socket_posix.h"
#endif
