// restrack/proactor/errors.h — the exceptions the proactor throws.
//
// Awaiting a cancelled future or task throws CancelledError; wait_for() throws
// TimeoutError when its deadline passes first. Using a closed loop throws LoopClosedError,
// and a loop that cannot get its I/O backend from the kernel throws BackendUnavailableError
// from its constructor. Failed socket operations throw std::system_error carrying the
// errno value, in a category that compares equal to std::errc and reads the same on every
// platform (`error.code() == std::errc::connection_reset`, what() "recv ...: Connection
// reset by peer"); on Windows an error with no errno counterpart keeps its Windows code
// in std::system_category().
#pragma once

#include <stdexcept>
#include <string>

#include "restrack/config.h"

RESTRACK_NAMESPACE_BEGIN

// The awaited future or task was cancelled. A task whose coroutine lets it escape ends
// cancelled rather than failed.
//
// CancelledError deliberately does not derive from std::exception (as asyncio moved
// CancelledError out of Exception): a `catch (const std::exception&)` written to handle
// I/O errors must not swallow a cancellation and let the task run on. Catch it by name
// when cleaning up, and rethrow it:
//
//   try { co_await restrack::sock_recv(loop, socket, 4096); }
//   catch (const restrack::CancelledError&) { cleanup(); throw; }
class CancelledError {
 public:
  const char* what() const noexcept { return "cancelled"; }
};

// wait_for() gave up: the deadline passed before the awaited task finished. The task was
// cancelled.
class TimeoutError : public std::runtime_error {
 public:
  TimeoutError() : std::runtime_error("timed out") {}
};

// The event loop (or its backend) is closed, or is being closed, and cannot take new work.
class LoopClosedError : public std::logic_error {
 public:
  explicit LoopClosedError(const std::string& what) : std::logic_error(what) {}
};

// The kernel refused the I/O backend (io_uring disabled, blocked by a sandbox, or too
// old). The message names the failing call, the errno text and the kernel requirement.
class BackendUnavailableError : public std::runtime_error {
 public:
  explicit BackendUnavailableError(const std::string& what) : std::runtime_error(what) {}
};

RESTRACK_NAMESPACE_END
