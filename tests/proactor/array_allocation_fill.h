// Test-only: makes the test binary's operator new[] fill what it returns with 0xA5 while
// switched on, so a test can tell whether code wrote over a fresh array allocation.
#pragma once

namespace restrack_test {

void fill_next_array_allocations(bool enabled);

}  // namespace restrack_test
