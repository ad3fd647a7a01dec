// Internal: what an operation carries for the IOCP backend beyond the portable fields of
// Operation — the OVERLAPPED the kernel completes, and what the Winsock calls read or
// write while the request is in flight (rule 1: all of it lives in the operation).
#pragma once

#include <winsock2.h>
#include <ws2tcpip.h>

#include <atomic>
#include <cstdint>
#include <vector>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {

struct PlatformOperationState {
  // First member: a completion packet's OVERLAPPED pointer is this state's address.
  OVERLAPPED overlapped{};
  // The operation's key, read back from a reaped packet (rule 6: looked up, never trusted).
  std::uint64_t key = 0;
  // Its packet is queued for certain: the request finished at once, or cancel() posted a
  // wait's packet. Counted by the backend until the packet is dequeued.
  bool packet_queued = false;
  WSABUF io{};
  DWORD flags = 0;
  // recvfrom: the sender's address length, written by the kernel.
  INT address_length = 0;
  // accept: the socket AcceptEx accepts into, created at submission and owned by the
  // backend until the completion (closed there unless the accept succeeded: rule 11).
  SOCKET accept_socket = INVALID_SOCKET;
  // The port this operation was started on: its handle is bound to it, so submitting the
  // operation again (a short send's remainder, a transport's next receive) needs no
  // CreateIoCompletionPort; a wait's callback posts the packet there.
  HANDLE port = nullptr;
  // wait_process: the registered wait (RegisterWaitForSingleObject) whose callback posts
  // this operation's packet to `port`; null once unregistered. Whoever sets `wait_claimed`
  // first — the callback, or cancel() — posts the one packet (rule 7); `wait_cancelled`
  // says it was cancel().
  HANDLE wait = nullptr;
  std::atomic<bool> wait_claimed{false};
  bool wait_cancelled = false;
  // accept: where AcceptEx writes both addresses (kAcceptAddressesSize bytes), allocated
  // for accepts only. (A vector, not a unique_ptr: the state must stay standard-layout
  // with every compiler, and clang does not count libstdc++'s unique_ptr as such.)
  std::vector<char> accept_addresses;
  // Each address AcceptEx writes takes up to its size plus 16 bytes.
  static constexpr DWORD kAcceptAddressSize = sizeof(sockaddr_storage) + 16;
  static constexpr DWORD kAcceptAddressesSize = 2 * kAcceptAddressSize;
};

}  // namespace internal
RESTRACK_NAMESPACE_END
