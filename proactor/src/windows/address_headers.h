// Internal: the Windows headers of the socket address families, for the portable
// socket_address.cc. <afunix.h> (sockaddr_un) needs <winsock2.h> first, which
// restrack/proactor/socket.h includes.
#pragma once

#include "restrack/proactor/socket.h"

#include <afunix.h>
