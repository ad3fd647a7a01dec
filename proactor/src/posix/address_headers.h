// Internal: the POSIX headers of the socket address families, for the portable
// socket_address.cc.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
