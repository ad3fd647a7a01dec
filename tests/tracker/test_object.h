// Test support: a real OS object for the tracker tests that run on every platform
// (test_object_posix.cc, test_object_windows.cc), as a descriptor that restrack::TrackedFd
// owns on both. The tests label it with whatever kind they are about; only its
// description, which comes from the OS, differs between platforms:
//   POSIX    one end of an AF_UNIX socketpair (the other end closed): "unix fd=7"
//   Windows  the server end of a new named pipe, \\.\pipe\restrack_test_<pid>_<n>, as a C
//            runtime descriptor: "fd=7 pipe \\.\pipe\restrack_test_4242_1"
// Free of GoogleTest and of restrack: the probe programs and the compiled-out tests link
// it too.
#pragma once

#include <string>

namespace restrack_test {

// Opens a new object and returns its descriptor, which nothing owns yet; -1 if it cannot.
int open_test_object();

// The description restrack gives `fd` while it is the open descriptor of the object
// open_test_object() last returned under that number.
std::string description_of(int fd);

// The text every description of a test object starts with: "unix fd=" on POSIX, "fd=" on
// Windows.
std::string description_prefix();

// A regular expression, in GoogleTest's flavour on this platform (POSIX extended; its
// own simple syntax on Windows), that matches any description of a test object.
std::string description_regex();

// What `fd` refers to now, empty if it is not open. Two answers are equal only while the
// number names the same object (restrack's symbolizer may reuse a closed number for a
// file of its own).
std::string identity_of(int fd);

// What the file at `path` is (device and inode on POSIX, volume and file index on
// Windows), empty if there is none: equal answers for two paths, or one path at two
// times, mean the same file.
std::string identity_of_file(const std::string& path);

// Where a warning places the destruction at exit of a static object defined at
// `definition` ("file:line"): "<exit>" on POSIX, where the C runtime calls the destructor
// itself; on Windows the compiler registers a function of the program's own for it, at
// the definition, and that is the first frame outside the library.
std::string exit_location(const std::string& definition);

// Closes a descriptor that no TrackedFd owns.
void close_descriptor(int fd);

// This process's id.
int process_id();

}  // namespace restrack_test
