// Stack capture with the compiler runtime's DWARF unwinder (_Unwind_Backtrace). It needs
// no frame pointers, only unwind tables, and costs about a microsecond per trace; see
// docs/PERFORMANCE.md.
#include <unwind.h>

#include "capture.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

struct UnwindState {
  std::uintptr_t* out;
  int max_frames;
  int skip;
  int count;
};

_Unwind_Reason_Code collect_frame(_Unwind_Context* context, void* arg) {
  auto* state = static_cast<UnwindState*>(arg);
  int before_instruction = 0;
  auto ip = static_cast<std::uintptr_t>(_Unwind_GetIPInfo(context, &before_instruction));
  if (ip == 0) return _URC_END_OF_STACK;
  // A frame interrupted by a signal holds the address of the interrupted instruction
  // itself, not a return address. Every trace is symbolized at "address - 1" (the call
  // instruction of a return address), so store the address one past it.
  if (before_instruction != 0) ++ip;
  if (state->skip > 0) {
    --state->skip;
    return _URC_NO_REASON;
  }
  state->out[state->count++] = ip;
  return state->count < state->max_frames ? _URC_NO_REASON : _URC_END_OF_STACK;
}

}  // namespace

__attribute__((noinline)) int capture_dwarf(std::uintptr_t* out, int max_frames,
                                            int skip) noexcept {
  if (max_frames <= 0) return 0;
  // The first frame reported is this function itself.
  UnwindState state{out, max_frames, skip + 1, 0};
  _Unwind_Backtrace(collect_frame, &state);
  return state.count;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
