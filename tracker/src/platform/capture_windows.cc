// Windows implementation of capture_frame_pointers() and RecentWalk::capture()
// (capture=frame_pointer). A frame-pointer walk cannot work here: on x86-64 Windows GCC
// sets the frame pointer at an offset inside the frame (Win64 unwind information allows
// it), so the saved frame pointer is not where the pointer points. The unwind tables can.
//
// RtlCaptureStackBackTrace unwinds with them, but looks up and decodes every frame's
// unwind data each time: about 1 µs for 30 frames under Wine. Within one function and one
// return address the unwind data fixes where the caller's registers are, relative to one
// base register — rsp, or rbp where the function made rbp its frame pointer. So the walk
// here learns that rule once per return address, from one RtlVirtualUnwind on a real
// frame, and applies it from then on with two loads. Only what it can prove to be the same
// walk is learned (below, `learn`); at any frame it cannot learn a rule for, it starts
// again with RtlCaptureStackBackTrace, so the trace is always the one that function gives,
// up to the null return address past a thread's start, where Windows ends it (Wine goes
// on).
//
// RecentWalk replays its last walks as on Linux (capture.h): the walk starts from
// RecentWalk::capture()'s own registers, and each rule's two loads are recorded with their
// addresses; where capture() runs again with the same rsp and rbp and every recorded word
// of one of them is unchanged, the walk would find that walk's trace.
#include <windows.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <mutex>

#include "capture.h"
#include "spin_lock.h"
#include "stack_depot.h"

RESTRACK_NAMESPACE_BEGIN
namespace internal {
namespace {

// Where a frame's caller's registers are, for one return address: the caller's rsp is the
// base register plus `caller_rsp`, its return address the word just below that, and rbp
// comes back from base + `saved_rbp` (or is left as it is).
struct FrameRule {
  std::int32_t caller_rsp = 0;
  std::int32_t saved_rbp = 0;
  bool from_rbp = false;
  bool restores_rbp = false;
};

// The learned rules, shared by every thread: found without a lock, added under one.
// An entry is written once, before its return address is published, and never changed.
struct RuleEntry {
  std::atomic<std::uintptr_t> rip{0};  // 0: free
  FrameRule rule;
};
constexpr std::size_t kRuleSlots = 4096;
constexpr int kRuleProbes = 8;
RuleEntry rule_table[kRuleSlots];
SpinLock rule_lock;

std::size_t rule_slot(std::uintptr_t rip) noexcept {
  return static_cast<std::size_t>((rip * 0x9E37'79B9'7F4A'7C15ULL) >> 52) & (kRuleSlots - 1);
}

const FrameRule* find_rule(std::uintptr_t rip) noexcept {
  std::size_t slot = rule_slot(rip);
  for (int probe = 0; probe < kRuleProbes; ++probe, slot = (slot + 1) % kRuleSlots) {
    const std::uintptr_t at = rule_table[slot].rip.load(std::memory_order_acquire);
    if (at == rip) return &rule_table[slot].rule;
    if (at == 0) return nullptr;
  }
  return nullptr;
}

// The modules whose code stays loaded as long as the rules are used: the program, the
// module this code is in, and the system's own (ntdll, kernel32, kernelbase), where every
// thread starts. A rule for a return address in a library that can be unloaded could
// outlive its code.
bool stays_loaded(std::uintptr_t image_base) noexcept {
  static const std::array<std::uintptr_t, 5> modules = [] {
    HMODULE restrack = nullptr;
    GetModuleHandleExW(
        GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_UNCHANGED_REFCOUNT,
        reinterpret_cast<LPCWSTR>(&rule_table), &restrack);
    return std::array<std::uintptr_t, 5>{
        reinterpret_cast<std::uintptr_t>(GetModuleHandleW(nullptr)),
        reinterpret_cast<std::uintptr_t>(restrack),
        reinterpret_cast<std::uintptr_t>(GetModuleHandleW(L"ntdll.dll")),
        reinterpret_cast<std::uintptr_t>(GetModuleHandleW(L"kernel32.dll")),
        reinterpret_cast<std::uintptr_t>(GetModuleHandleW(L"kernelbase.dll"))};
  }();
  return image_base != 0 && std::find(modules.begin(), modules.end(), image_base) != modules.end();
}

// The frame register of the function (0: none, 5: rbp), or -1 where its unwind data is not
// the plain kind whose rule is one base and fixed offsets: chained data, a machine frame,
// another frame register, a return address inside the prologue, a version not known.
int plain_frame_register(std::uintptr_t image_base, const RUNTIME_FUNCTION& function,
                         std::uintptr_t rip) noexcept {
  if ((function.UnwindData & 1U) != 0) return -1;
  const auto* info = reinterpret_cast<const std::uint8_t*>(image_base + function.UnwindData);
  const int version = info[0] & 7;
  const int flags = info[0] >> 3;
  if (version != 1 || (flags & UNW_FLAG_CHAININFO) != 0) return -1;
  if (rip - (image_base + function.BeginAddress) < info[1]) return -1;
  const int frame_register = info[3] & 0xF;
  if (frame_register != 0 && frame_register != 5) return -1;
  // Unwind codes, each one to three slots of 16 bits: operation in bits 8–11.
  const auto* codes = reinterpret_cast<const std::uint16_t*>(info + 4);
  for (int i = 0; i < info[2];) {
    const int operation = (codes[i] >> 8) & 0xF;
    const int operation_info = codes[i] >> 12;
    switch (operation) {
      case 0:  // UWOP_PUSH_NONVOL
      case 2:  // UWOP_ALLOC_SMALL
      case 3:  // UWOP_SET_FPREG
        i += 1;
        break;
      case 1:  // UWOP_ALLOC_LARGE
        i += operation_info == 0 ? 2 : 3;
        break;
      case 4:  // UWOP_SAVE_NONVOL
      case 8:  // UWOP_SAVE_XMM128
        i += 2;
        break;
      case 5:  // UWOP_SAVE_NONVOL_FAR
      case 9:  // UWOP_SAVE_XMM128_FAR
        i += 3;
        break;
      default:  // UWOP_PUSH_MACHFRAME and anything newer
        return -1;
    }
  }
  return frame_register;
}

// Learns the rule for return address `rip` from its frame (`rsp`, `rbp`), and keeps it
// where it stays valid. False where no rule can be proven.
//
// RtlVirtualUnwind runs twice, the second time with rbp 16 higher. Where the caller's rsp
// moves by exactly that, the rule is taken from rbp (a function whose frame register is
// rbp, past its prologue); where it does not move, from rsp (no frame register, or a
// return address the unwinder reads as the start of an epilogue, which it replays from
// rsp); anything else is refused. The return address must be the word below the caller's
// rsp (no machine frame), and rbp must come back from the slot the unwinder names, moving
// with the base, or stay as it was.
__attribute__((noinline)) bool learn(std::uintptr_t rip, std::uintptr_t rsp, std::uintptr_t rbp,
                                     FrameRule& rule) noexcept {
  DWORD64 image_base = 0;
  RUNTIME_FUNCTION* function = RtlLookupFunctionEntry(rip, &image_base, nullptr);
  if (function == nullptr || !stays_loaded(image_base)) return false;
  const int frame_register = plain_frame_register(image_base, *function, rip);
  if (frame_register < 0) return false;
  struct Unwound {
    CONTEXT context;
    KNONVOLATILE_CONTEXT_POINTERS pointers;
  };
  const auto unwind = [&](std::uintptr_t with_rbp, Unwound& out) {
    std::memset(&out, 0, sizeof out);
    out.context.Rip = rip;
    out.context.Rsp = rsp;
    out.context.Rbp = with_rbp;
    void* handler_data = nullptr;
    DWORD64 establisher = 0;
    RtlVirtualUnwind(UNW_FLAG_NHANDLER, image_base, rip, function, &out.context, &handler_data,
                     &establisher, &out.pointers);
  };
  Unwound unwound{};
  Unwound moved{};
  unwind(rbp, unwound);
  unwind(rbp + 16, moved);
  const std::uintptr_t caller_rsp = unwound.context.Rsp;
  const std::uintptr_t shift = moved.context.Rsp - caller_rsp;
  if (shift != 0 && (shift != 16 || frame_register != 5)) return false;
  const bool from_rbp = shift == 16;
  const std::uintptr_t base = from_rbp ? rbp : rsp;
  if (unwound.context.Rip != *reinterpret_cast<const std::uintptr_t*>(caller_rsp - 8)) return false;
  const ULONG64* rbp_slot = unwound.pointers.IntegerContext[5];
  const ULONG64* moved_rbp_slot = moved.pointers.IntegerContext[5];
  if (rbp_slot != nullptr ? *rbp_slot != unwound.context.Rbp ||
                                reinterpret_cast<std::uintptr_t>(moved_rbp_slot) !=
                                    reinterpret_cast<std::uintptr_t>(rbp_slot) + shift
                          : unwound.context.Rbp != rbp || moved.context.Rbp != rbp + 16) {
    return false;
  }
  const auto offset = [base](std::uintptr_t at, std::int32_t& out) {
    const auto difference = static_cast<std::int64_t>(at - base);
    out = static_cast<std::int32_t>(difference);
    return difference == out;
  };
  rule.from_rbp = from_rbp;
  rule.restores_rbp = rbp_slot != nullptr;
  if (!offset(caller_rsp, rule.caller_rsp)) return false;
  if (rbp_slot != nullptr && !offset(reinterpret_cast<std::uintptr_t>(rbp_slot), rule.saved_rbp)) {
    return false;
  }
  // Kept if there is room near its slot; a rule that finds none is learned again next time.
  std::lock_guard<SpinLock> hold(rule_lock);
  std::size_t slot = rule_slot(rip);
  for (int probe = 0; probe < kRuleProbes; ++probe, slot = (slot + 1) % kRuleSlots) {
    RuleEntry& entry = rule_table[slot];
    const std::uintptr_t at = entry.rip.load(std::memory_order_relaxed);
    if (at == rip) break;
    if (at != 0) continue;
    entry.rule = rule;
    entry.rip.store(rip, std::memory_order_release);
    break;
  }
  return true;
}

// Where this point of the calling function is, and its stack and frame registers: what
// the rule for this point of its body needs. (RtlCaptureContext gives them too, but saves
// the whole register file with them: a sixth of a depth-16 open+close under Wine went to
// its fxsave.)
[[gnu::always_inline]] inline void read_registers(std::uintptr_t& rip, std::uintptr_t& rsp,
                                                  std::uintptr_t& rbp) noexcept {
  asm volatile(
      "lea 0(%%rip), %0\n\t"
      "mov %%rsp, %1\n\t"
      "mov %%rbp, %2"
      : "=r"(rip), "=r"(rsp), "=r"(rbp));
}

// The walk by rules from a point in a function's body: up to `max_frames` return addresses
// after `skip`, into `out`; -1 at a frame with no rule that cannot get one. With kRecord,
// also every word it reads and where, in order, into `read_at` and `read_words` (at most
// two per frame walked, skipped ones included), their number into `read_count`. The first
// rule applied leaves the function: from then on rip is a return address.
template <bool kRecord>
[[gnu::noinline]] int walk_by_rules(std::uintptr_t rip, std::uintptr_t rsp, std::uintptr_t rbp,
                                    std::uintptr_t* out, int max_frames, int skip,
                                    const std::uintptr_t** read_at, std::uintptr_t* read_words,
                                    int& read_count) noexcept {
  int count = 0;
  int reads = 0;
  FrameRule learned;
  while (count < max_frames) {
    // Never 0 here (the walk ends there, below), so never a free slot's address.
    const FrameRule* rule = find_rule(rip);
    if (rule == nullptr) {
      if (!learn(rip, rsp, rbp, learned)) return -1;
      rule = &learned;
    }
    const std::uintptr_t base = rule->from_rbp ? rbp : rsp;
    if (rule->restores_rbp) {
      const auto* saved_rbp = reinterpret_cast<const std::uintptr_t*>(base + rule->saved_rbp);
      rbp = *saved_rbp;
      if constexpr (kRecord) {
        read_at[reads] = saved_rbp;
        read_words[reads++] = rbp;
      }
    }
    rsp = base + rule->caller_rsp;
    const auto* return_address = reinterpret_cast<const std::uintptr_t*>(rsp - 8);
    rip = *return_address;
    if constexpr (kRecord) {
      read_at[reads] = return_address;
      read_words[reads++] = rip;
    }
    if (rip == 0) break;  // the frame a thread starts in
    if (skip > 0) {
      --skip;
    } else {
      out[count++] = rip;
    }
  }
  read_count = reads;
  return count;
}

// Where the running thread's (or fiber's) stack ends: NT_TIB::StackBase.
inline std::uintptr_t stack_base() noexcept {
  std::uintptr_t base = 0;
  asm volatile("mov %%gs:8, %0" : "=r"(base));
  return base;
}

// RtlCaptureStackBackTrace's trace, skipping `skip` frames above the caller, ended where
// Windows ends it.
__attribute__((noinline)) int capture_by_system(std::uintptr_t* out, int max_frames,
                                                int skip) noexcept {
  // Captures at most 65535 frames at a time; restrack asks for at most kMaxCaptureFrames.
  // +1: this function's own frame.
  void** frames = reinterpret_cast<void**>(out);
  const int captured = RtlCaptureStackBackTrace(static_cast<DWORD>(skip) + 1,
                                                static_cast<DWORD>(max_frames), frames, nullptr);
  // Windows stops at the null return address past a thread's start; Wine 8 stores it and
  // goes on with words of the stack (docs/windows.md). Both end there.
  const int count = static_cast<int>(std::find(out, out + captured, std::uintptr_t{0}) - out);
  // Not a tail call: `skip + 1` counts this function's frame.
  asm volatile("");
  return count;
}

}  // namespace

__attribute__((noinline)) int capture_by_unwind_rules(std::uintptr_t* out, int max_frames,
                                                      int skip) noexcept {
  std::uintptr_t rip = 0;
  std::uintptr_t rsp = 0;
  std::uintptr_t rbp = 0;
  read_registers(rip, rsp, rbp);
  int read_count = 0;
  return walk_by_rules<false>(rip, rsp, rbp, out, max_frames, skip, nullptr, nullptr, read_count);
}

__attribute__((noinline)) int capture_frame_pointers(std::uintptr_t* out, int max_frames,
                                                     int skip) noexcept {
  if (max_frames <= 0) return 0;
  // +1: this function's own frame.
  int count = capture_by_unwind_rules(out, max_frames, skip + 1);
  if (count < 0) count = capture_by_system(out, max_frames, skip + 1);
  // Not a tail call: `skip + 1` counts this function's frame.
  asm volatile("");
  return count;
}

__attribute__((noinline)) TraceId RecentWalk::capture(int max_frames, int skip) noexcept {
  Registers here;
  read_registers(here.rip, here.rsp, here.rbp);
  max_frames = std::min(max_frames, kMaxCaptureFrames);
  TraceId id = kNoTrace;
  bool replayed = false;
  // Two sites can walk from the same registers (two callers at one depth): every walk
  // from here is tried until one matches.
  for (const Walk& walk : walks_) {
    // The recorded words lie between this frame and the stack's base (NT_TIB::StackBase):
    // a fiber's stack that took the place of the one they were read from may be shorter.
    if (here.rsp != walk.start_rsp || here.rbp != walk.start_rbp || max_frames != walk.max_frames ||
        skip != walk.skip ||
        reinterpret_cast<std::uintptr_t>(walk.read_at[walk.read_count - 1]) >= stack_base()) {
      continue;
    }
    std::uintptr_t differ = 0;
    for (int i = 0; i < walk.read_count; ++i) differ |= *walk.read_at[i] ^ walk.read_words[i];
    if (differ == 0) {
      id = walk.id;
      replayed = true;
      break;
    }
  }
  if (!replayed) id = walk_and_keep(here, max_frames, skip);
  // Not a tail call: walk_and_keep walks from this frame.
  asm volatile("");
  return id;
}

__attribute__((noinline)) TraceId RecentWalk::walk_and_keep(Registers start, int max_frames,
                                                            int skip) noexcept {
  std::uintptr_t trace[kMaxCaptureFrames];
  Walk& kept = walks_[oldest_];
  int read_count = 0;
  int count = 0;
  const bool keep = skip + max_frames <= kCapacity;
  if (keep) {
    kept.start_rsp = 0;  // nothing to replay unless this walk is remembered
    count = walk_by_rules<true>(start.rip, start.rsp, start.rbp, trace, max_frames, skip,
                                kept.read_at, kept.read_words, read_count);
  } else {
    count = walk_by_rules<false>(start.rip, start.rsp, start.rbp, trace, max_frames, skip, nullptr,
                                 nullptr, read_count);
  }
  if (keep && walk_interruption_for_test != nullptr) walk_interruption_for_test();
  if (count < 0) {
    // +2: this function's frame and capture()'s.
    return intern_trace(trace, capture_by_system(trace, max_frames, skip + 2));
  }
  const TraceId id = intern_trace(trace, count);
  if (keep && read_count > 0) {
    kept.start_rsp = start.rsp;
    kept.start_rbp = start.rbp;
    kept.max_frames = max_frames;
    kept.skip = skip;
    kept.read_count = read_count;
    kept.id = id;
    oldest_ = oldest_ + 1 == kWalks ? 0 : oldest_ + 1;
  }
  return id;
}

}  // namespace internal
RESTRACK_NAMESPACE_END
