// TrackedHandle and TrackedSocket (restrack/tracked_handle.h) on real Windows objects:
// their descriptions from the OS and the contract they share with TrackedFd.
#include <winsock2.h>
#include <ws2tcpip.h>

#include <windows.h>

#include <optional>
#include <sstream>
#include <string>

#include "tracker_test.h"

using restrack_test::at;
using restrack_test::TrackerTest;

namespace {

std::string utf8(const std::wstring& wide) {
  const int size = WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()),
                                       nullptr, 0, nullptr, nullptr);
  std::string text(static_cast<std::size_t>(size), '\0');
  WideCharToMultiByte(CP_UTF8, 0, wide.data(), static_cast<int>(wide.size()), text.data(), size,
                      nullptr, nullptr);
  return text;
}

// A path in the temporary directory, as Windows names it.
std::wstring temporary_path(const wchar_t* name) {
  wchar_t directory[MAX_PATH + 1];
  const DWORD length = GetTempPathW(MAX_PATH + 1, directory);
  EXPECT_GT(length, 0u);
  return std::wstring(directory, length) + name;
}

HANDLE create_file(const std::wstring& path) {
  return CreateFileW(path.c_str(), GENERIC_READ | GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                     FILE_ATTRIBUTE_NORMAL, nullptr);
}

// "handle=0x1a4 (closed)", as the owners describe what they closed.
std::string closed_text(const char* what, std::uintptr_t value) {
  std::ostringstream text;
  text << what << "=0x" << std::hex << value << " (closed)";
  return text.str();
}

// The port a socket is bound to.
int port_of(SOCKET socket) {
  sockaddr_storage address{};
  int length = sizeof address;
  EXPECT_EQ(getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length), 0);
  return address.ss_family == AF_INET6
             ? ntohs(reinterpret_cast<const sockaddr_in6&>(address).sin6_port)
             : ntohs(reinterpret_cast<const sockaddr_in&>(address).sin_port);
}

// A socket bound to the loopback address, port chosen by the system.
SOCKET bound_socket(int family, int type) {
  const SOCKET socket = ::socket(family, type, 0);
  EXPECT_NE(socket, INVALID_SOCKET);
  sockaddr_storage address{};
  int length = 0;
  if (family == AF_INET6) {
    auto& in6 = reinterpret_cast<sockaddr_in6&>(address);
    in6.sin6_family = AF_INET6;
    in6.sin6_addr = in6addr_loopback;
    length = sizeof in6;
  } else {
    auto& in = reinterpret_cast<sockaddr_in&>(address);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    length = sizeof in;
  }
  EXPECT_EQ(bind(socket, reinterpret_cast<const sockaddr*>(&address), length), 0);
  return socket;
}

// Connects `socket` to where `target` is bound.
void connect_to(SOCKET socket, SOCKET target) {
  sockaddr_storage address{};
  int length = sizeof address;
  ASSERT_EQ(getsockname(target, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ASSERT_EQ(connect(socket, reinterpret_cast<const sockaddr*>(&address), length), 0);
}

// A value no handle can have: beyond the largest handle table (2^24 entries of 4).
HANDLE bogus_handle() { return reinterpret_cast<HANDLE>(std::uintptr_t{0x7ffffff0}); }

}  // namespace

// The allocation and close sites the exact texts below name.
static restrack::TrackedHandle open_event() {
  return restrack::TrackedHandle(CreateEventW(nullptr, TRUE, FALSE, nullptr));  // kEventLine
}
constexpr int kEventLine = __LINE__ - 2;

static void close_handle(restrack::TrackedHandle& handle) {
  EXPECT_EQ(handle.close(), 0u);  // kCloseHandleLine
}
constexpr int kCloseHandleLine = __LINE__ - 2;

static restrack::TrackedSocket open_udp_socket() {
  return restrack::TrackedSocket(bound_socket(AF_INET, SOCK_DGRAM));  // kSocketLine
}
constexpr int kSocketLine = __LINE__ - 2;

static void close_socket(restrack::TrackedSocket& socket) {
  EXPECT_EQ(socket.close(), 0);  // kCloseSocketLine
}
constexpr int kCloseSocketLine = __LINE__ - 2;

class WindowsHandleTest : public TrackerTest {
 protected:
  void SetUp() override {
    TrackerTest::SetUp();
    WSADATA data;
    ASSERT_EQ(WSAStartup(MAKEWORD(2, 2), &data), 0);
  }
  void TearDown() override {
    WSACleanup();
    TrackerTest::TearDown();
  }
};

TEST_F(WindowsHandleTest, FileIsDescribedByItsFinalPathInUtf8) {
  const std::wstring path = temporary_path(L"restrack_handle_\u00e9.txt");
  restrack::TrackedHandle file(create_file(path));
  ASSERT_TRUE(file);
  EXPECT_EQ(restrack::TrackedHandle::describe(file.get()), "file " + utf8(path));
  EXPECT_NE(utf8(path).find("restrack_handle_\xc3\xa9.txt"), std::string::npos);
  EXPECT_EQ(file.close(), 0u);
  EXPECT_TRUE(DeleteFileW(path.c_str()));
}

TEST_F(WindowsHandleTest, NamedPipeIsDescribedByItsName) {
  const std::wstring name = L"\\\\.\\pipe\\restrack_test_" + std::to_wstring(GetCurrentProcessId());
  restrack::TrackedHandle pipe(CreateNamedPipeW(name.c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1,
                                                4096, 4096, 0, nullptr));
  ASSERT_TRUE(pipe);
  EXPECT_EQ(restrack::TrackedHandle::describe(pipe.get()), utf8(L"pipe " + name));
}

TEST_F(WindowsHandleTest, OtherKernelObjectsAreDescribedByTheirType) {
  restrack::TrackedHandle event = open_event();
  ASSERT_TRUE(event);
  EXPECT_EQ(restrack::TrackedHandle::describe(event.get()), "event");
  restrack::TrackedHandle semaphore(CreateSemaphoreW(nullptr, 0, 1, nullptr));
  ASSERT_TRUE(semaphore);
  EXPECT_EQ(restrack::TrackedHandle::describe(semaphore.get()), "semaphore");
  restrack::TrackedHandle mutex(CreateMutexW(nullptr, FALSE, nullptr));
  ASSERT_TRUE(mutex);
  EXPECT_EQ(restrack::TrackedHandle::describe(mutex.get()), "mutant");  // the kernel's name
}

TEST_F(WindowsHandleTest, ProcessIsDescribedByItsId) {
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION info{};
  std::wstring command = L"cmd.exe /c exit 0";
  ASSERT_TRUE(CreateProcessW(nullptr, command.data(), nullptr, nullptr, FALSE, CREATE_NO_WINDOW,
                             nullptr, nullptr, &startup, &info));
  restrack::TrackedHandle thread(info.hThread);
  restrack::TrackedHandle process(info.hProcess);
  EXPECT_EQ(WaitForSingleObject(process.get(), 30000), WAIT_OBJECT_0);
  EXPECT_EQ(restrack::TrackedHandle::describe(process.get()),
            "process pid=" + std::to_string(info.dwProcessId));
  EXPECT_EQ(restrack::TrackedHandle::describe(thread.get()), "thread");
}

TEST_F(WindowsHandleTest, TcpSocketsAreDescribedByTheirAddresses) {
  restrack::TrackedSocket listener(bound_socket(AF_INET, SOCK_STREAM));
  ASSERT_EQ(listen(listener.get(), 1), 0);
  restrack::TrackedSocket client(::socket(AF_INET, SOCK_STREAM, 0));
  EXPECT_EQ(restrack::TrackedSocket::describe(client.get()), "tcp socket");
  connect_to(client.get(), listener.get());
  restrack::TrackedSocket server(accept(listener.get(), nullptr, nullptr));
  ASSERT_TRUE(server);

  const std::string server_address = "127.0.0.1:" + std::to_string(port_of(listener.get()));
  const std::string client_address = "127.0.0.1:" + std::to_string(port_of(client.get()));
  EXPECT_EQ(restrack::TrackedSocket::describe(listener.get()), "tcp socket " + server_address);
  EXPECT_EQ(restrack::TrackedSocket::describe(client.get()),
            "tcp socket " + client_address + "->" + server_address);
  EXPECT_EQ(restrack::TrackedSocket::describe(server.get()),
            "tcp socket " + server_address + "->" + client_address);
}

TEST_F(WindowsHandleTest, UdpSocketsAreDescribedByTheirAddresses) {
  restrack::TrackedSocket socket = open_udp_socket();
  const std::string address = "127.0.0.1:" + std::to_string(port_of(socket.get()));
  EXPECT_EQ(restrack::TrackedSocket::describe(socket.get()), "udp socket " + address);
  connect_to(socket.get(), socket.get());
  EXPECT_EQ(restrack::TrackedSocket::describe(socket.get()),
            "udp socket " + address + "->" + address);
}

TEST_F(WindowsHandleTest, Ipv6SocketsSayTcp6) {
  restrack::TrackedSocket listener(bound_socket(AF_INET6, SOCK_STREAM));
  EXPECT_EQ(restrack::TrackedSocket::describe(listener.get()),
            "tcp6 socket [::1]:" + std::to_string(port_of(listener.get())));
}

TEST_F(WindowsHandleTest, CloseReturnsZeroOrTheOsError) {
  restrack::TrackedHandle event = open_event();
  EXPECT_EQ(event.close(), 0u);
  restrack::TrackedHandle bogus(bogus_handle());
  EXPECT_EQ(bogus.close(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
  restrack::TrackedSocket socket = open_udp_socket();
  EXPECT_EQ(socket.close(), 0);
  restrack::TrackedSocket not_a_socket(reinterpret_cast<std::uintptr_t>(bogus_handle()));
  EXPECT_EQ(not_a_socket.close(), WSAENOTSOCK);
  EXPECT_TRUE(captured_.texts().empty());
}

TEST_F(WindowsHandleTest, DestroyedOpenHandleIsReportedWithItsTraceAndClosed) {
  std::optional<restrack::TrackedHandle> event(open_event());
  const int open_line = __LINE__ - 1;
  HANDLE handle = event->get();
  event.reset();  // destroyed while open
  const int destroy_line = __LINE__ - 1;

  DWORD flags = 0;
  EXPECT_FALSE(GetHandleInformation(handle, &flags));
  EXPECT_EQ(GetLastError(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0],
            at(__FILE__, destroy_line) +
                ": ResourceWarning: unclosed handle <event>\n"
                "Object allocated at (most recent call first):\n"
                "  #0 open_event() at " +
                at(__FILE__, kEventLine) +
                "\n"
                "  #1 WindowsHandleTest_DestroyedOpenHandleIsReportedWithItsTraceAndClosed_"
                "Test::TestBody() at " +
                at(__FILE__, open_line));
}

TEST_F(WindowsHandleTest, DestroyedOpenSocketIsReportedWithItsTraceAndClosed) {
  std::optional<restrack::TrackedSocket> socket(open_udp_socket());
  const int open_line = __LINE__ - 1;
  const SOCKET value = socket->get();
  const std::string address = "127.0.0.1:" + std::to_string(port_of(value));
  socket.reset();  // destroyed while open
  const int destroy_line = __LINE__ - 1;

  int type = 0;
  int length = sizeof type;
  EXPECT_NE(getsockopt(value, SOL_SOCKET, SO_TYPE, reinterpret_cast<char*>(&type), &length), 0);
  EXPECT_EQ(WSAGetLastError(), WSAENOTSOCK);
  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0],
            at(__FILE__, destroy_line) + ": ResourceWarning: unclosed socket <udp socket " +
                address +
                ">\n"
                "Object allocated at (most recent call first):\n"
                "  #0 open_udp_socket() at " +
                at(__FILE__, kSocketLine) +
                "\n"
                "  #1 WindowsHandleTest_DestroyedOpenSocketIsReportedWithItsTraceAndClosed_"
                "Test::TestBody() at " +
                at(__FILE__, open_line));
}

TEST_F(WindowsHandleTest, HandleClosedTwiceAddsTheFirstCloseTrace) {
  restrack::TrackedHandle event = open_event();
  const int open_line = __LINE__ - 1;
  const auto value = reinterpret_cast<std::uintptr_t>(event.get());
  close_handle(event);
  const int first_close_line = __LINE__ - 1;
  EXPECT_EQ(event.close(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
  const int second_close_line = __LINE__ - 1;

  const std::string test =
      "WindowsHandleTest_HandleClosedTwiceAddsTheFirstCloseTrace_Test::TestBody()";
  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0],
            at(__FILE__, second_close_line) + ": ResourceWarning: handle closed twice <" +
                closed_text("handle", value) + ">\n" +
                "Object allocated at (most recent call first):\n" + "  #0 open_event() at " +
                at(__FILE__, kEventLine) + "\n" + "  #1 " + test + " at " +
                at(__FILE__, open_line) + "\n" + "First closed at (most recent call first):\n" +
                "  #0 close_handle(restrack::TrackedHandle&) at " + at(__FILE__, kCloseHandleLine) +
                "\n" + "  #1 " + test + " at " + at(__FILE__, first_close_line));
}

TEST_F(WindowsHandleTest, SocketClosedTwiceAddsTheFirstCloseTrace) {
  restrack::TrackedSocket socket = open_udp_socket();
  const int open_line = __LINE__ - 1;
  const std::uintptr_t value = socket.get();
  close_socket(socket);
  const int first_close_line = __LINE__ - 1;
  EXPECT_EQ(socket.close(), WSAENOTSOCK);
  const int second_close_line = __LINE__ - 1;

  const std::string test =
      "WindowsHandleTest_SocketClosedTwiceAddsTheFirstCloseTrace_Test::TestBody()";
  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0],
            at(__FILE__, second_close_line) + ": ResourceWarning: socket closed twice <" +
                closed_text("socket", value) + ">\n" +
                "Object allocated at (most recent call first):\n" + "  #0 open_udp_socket() at " +
                at(__FILE__, kSocketLine) + "\n" + "  #1 " + test + " at " +
                at(__FILE__, open_line) + "\n" + "First closed at (most recent call first):\n" +
                "  #0 close_socket(restrack::TrackedSocket&) at " + at(__FILE__, kCloseSocketLine) +
                "\n" + "  #1 " + test + " at " + at(__FILE__, first_close_line));
}

TEST_F(WindowsHandleTest, UseAfterCloseNamesTheUseSiteAndTheFirstClose) {
  restrack::TrackedHandle event = open_event();
  const auto handle_value = reinterpret_cast<std::uintptr_t>(event.get());
  close_handle(event);
  EXPECT_EQ(event.get(), nullptr);
  const int handle_use_line = __LINE__ - 1;
  restrack::TrackedSocket socket = open_udp_socket();
  const std::uintptr_t socket_value = socket.get();
  close_socket(socket);
  EXPECT_EQ(socket.get(), restrack::TrackedSocket::invalid);
  const int socket_use_line = __LINE__ - 1;

  ASSERT_EQ(captured_.texts().size(), 2u);
  const std::string handle_first_line = at(__FILE__, handle_use_line) +
                                        ": ResourceWarning: handle used after close <" +
                                        closed_text("handle", handle_value) + ">\n";
  const std::string socket_first_line = at(__FILE__, socket_use_line) +
                                        ": ResourceWarning: socket used after close <" +
                                        closed_text("socket", socket_value) + ">\n";
  const std::string first_close = "First closed at (most recent call first):\n";
  EXPECT_EQ(captured_.texts()[0].substr(0, handle_first_line.size()), handle_first_line);
  EXPECT_NE(
      captured_.texts()[0].find(first_close + "  #0 close_handle(restrack::TrackedHandle&) at " +
                                at(__FILE__, kCloseHandleLine)),
      std::string::npos);
  EXPECT_EQ(captured_.texts()[1].substr(0, socket_first_line.size()), socket_first_line);
  EXPECT_NE(
      captured_.texts()[1].find(first_close + "  #0 close_socket(restrack::TrackedSocket&) at " +
                                at(__FILE__, kCloseSocketLine)),
      std::string::npos);
}

TEST_F(WindowsHandleTest, ReleaseGivesTheHandleUpUntracked) {
  std::optional<restrack::TrackedHandle> event(open_event());
  const std::size_t live_before = restrack::live_count();
  HANDLE handle = event->release();
  EXPECT_FALSE(*event);
  EXPECT_EQ(event->get(), nullptr);
  EXPECT_EQ(restrack::live_count(), live_before - 1);
  EXPECT_EQ(event->close(), static_cast<DWORD>(ERROR_INVALID_HANDLE));
  event.reset();
  EXPECT_TRUE(CloseHandle(handle));  // still open: release() did not close it

  std::optional<restrack::TrackedSocket> socket(open_udp_socket());
  const SOCKET value = socket->release();
  EXPECT_FALSE(*socket);
  EXPECT_EQ(socket->get(), restrack::TrackedSocket::invalid);
  EXPECT_EQ(socket->close(), WSAENOTSOCK);
  socket.reset();
  EXPECT_EQ(closesocket(value), 0);
  EXPECT_TRUE(captured_.texts().empty());
}

TEST_F(WindowsHandleTest, MovesTransferOwnership) {
  restrack::TrackedHandle first = open_event();
  HANDLE handle = first.get();
  restrack::TrackedHandle second(std::move(first));
  EXPECT_FALSE(first);  // NOLINT(bugprone-use-after-move): moved-from is empty, not closed
  EXPECT_EQ(second.get(), handle);
  std::optional<restrack::TrackedHandle> third(open_event());
  HANDLE overwritten = third->get();
  *third = std::move(second);  // the event third held is lost: reported and closed
  const int assign_line = __LINE__ - 1;
  EXPECT_EQ(third->get(), handle);
  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0].substr(0, captured_.texts()[0].find('\n')),
            at(__FILE__, assign_line) + ": ResourceWarning: unclosed handle <event>");
  DWORD flags = 0;
  EXPECT_FALSE(GetHandleInformation(overwritten, &flags));
  EXPECT_EQ(third->close(), 0u);

  restrack::TrackedSocket socket = open_udp_socket();
  const SOCKET value = socket.get();
  restrack::TrackedSocket moved(std::move(socket));
  EXPECT_FALSE(socket);  // NOLINT(bugprone-use-after-move): moved-from is empty, not closed
  EXPECT_EQ(moved.get(), value);
  socket = std::move(moved);
  EXPECT_EQ(socket.get(), value);
  EXPECT_EQ(socket.close(), 0);
  EXPECT_EQ(captured_.texts().size(), 1u);
}

TEST_F(WindowsHandleTest, SocketOwningAPipeHandleClosesItWithCloseHandleAndDescribesThePipe) {
  const std::wstring name =
      L"\\\\.\\pipe\\restrack_socket_test_" + std::to_wstring(GetCurrentProcessId());
  std::optional<restrack::TrackedSocket> pipe(restrack::TrackedSocket::from_handle(CreateNamedPipeW(
      name.c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, nullptr)));
  ASSERT_TRUE(*pipe);
  EXPECT_TRUE(pipe->holds_handle());
  const auto handle = reinterpret_cast<HANDLE>(pipe->get());
  pipe.reset();  // destroyed while open: closed with CloseHandle, reported as a pipe
  const int destroy_line = __LINE__ - 1;
  DWORD flags = 0;
  EXPECT_FALSE(GetHandleInformation(handle, &flags));
  ASSERT_EQ(captured_.texts().size(), 1u);
  EXPECT_EQ(captured_.texts()[0].substr(0, captured_.texts()[0].find('\n')),
            at(__FILE__, destroy_line) + ": ResourceWarning: unclosed pipe <" +
                utf8(L"pipe " + name) + ">");

  restrack::TrackedSocket second = restrack::TrackedSocket::from_handle(CreateNamedPipeW(
      name.c_str(), PIPE_ACCESS_DUPLEX, PIPE_TYPE_BYTE, 1, 4096, 4096, 0, nullptr));
  restrack::TrackedSocket moved(std::move(second));
  EXPECT_TRUE(moved.holds_handle());
  EXPECT_EQ(moved.close(), 0);
  EXPECT_EQ(moved.close(), WSAENOTSOCK);  // closed twice: reported with the first close
  ASSERT_EQ(captured_.texts().size(), 2u);
  EXPECT_NE(captured_.texts()[1].find(": ResourceWarning: pipe closed twice <handle=0x"),
            std::string::npos)
      << captured_.texts()[1];
  EXPECT_TRUE(restrack::TrackedSocket::from_handle(INVALID_HANDLE_VALUE).get() ==
              restrack::TrackedSocket::invalid);
}
