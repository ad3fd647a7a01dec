// Compiled in the other tracking mode than the restrack::tracker it links against: the
// link must fail, naming restrack::v1_tracking_off (tests/tracker/CMakeLists.txt).
#undef RESTRACK_TRACKING
#define RESTRACK_TRACKING 0
#include "restrack/live.h"

int main() { return static_cast<int>(restrack::live_count()); }
