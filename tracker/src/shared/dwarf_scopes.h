// The calls inlined at an address and the names of the functions they call, read from
// DWARF with elfutils' libdw. The tracker's symbolizer (platform/symbolizer_libdw.cc) and
// restrack-report's offline one (tools/report/offline_symbolizer.cc) both use it, so a
// report symbolized offline names the same frames as the live warning. Header only and
// free of the tracker's types, like the rest of shared/; whoever includes it links libdw.
#pragma once

#include <absl/container/flat_hash_map.h>
#include <cxxabi.h>
#include <dwarf.h>
#include <elfutils/libdw.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace restrack::dwarf_scopes {

// `name` demangled, or as it is when it is not a mangled C++ name; "" for null.
inline std::string demangle(const char* name) {
  if (name == nullptr) return {};
  int status = 0;
  char* demangled = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  if (status != 0 || demangled == nullptr) return name;
  std::string result(demangled);
  std::free(demangled);
  return result;
}

// The declaration a subprogram or inlined-call DIE stands for: through
// DW_AT_abstract_origin (an inlined call, a concrete copy of an inline function), then
// DW_AT_specification (a definition outside its class or namespace). False if a reference
// is broken.
inline bool declaration_of(Dwarf_Die* scope, Dwarf_Die* declaration) {
  Dwarf_Attribute attribute;
  *declaration = *scope;
  if (dwarf_attr(declaration, DW_AT_abstract_origin, &attribute) != nullptr &&
      dwarf_formref_die(&attribute, declaration) == nullptr) {
    return false;
  }
  if (dwarf_attr(declaration, DW_AT_specification, &attribute) != nullptr &&
      dwarf_formref_die(&attribute, declaration) == nullptr) {
    return false;
  }
  return true;
}

// Whether a DIE around a declaration qualifies its name: a namespace, class, structure or
// union adds its own name, a function all of its name (a lambda or a local class is named
// after the function it is in). Other DIEs (lexical blocks) add nothing.
inline bool qualifies(int tag) {
  return tag == DW_TAG_namespace || tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
         tag == DW_TAG_union_type || tag == DW_TAG_subprogram;
}

// What a namespace, class, structure or union adds: its name; for an unnamed one what the
// demangler writes in its place, "(anonymous namespace)", or "{lambda}" for the class of
// a lambda (the one with an operator()), else "{unnamed type}".
inline std::string scope_part(Dwarf_Die* scope) {
  if (const char* name = dwarf_diename(scope)) return name;
  if (dwarf_tag(scope) == DW_TAG_namespace) return "(anonymous namespace)";
  Dwarf_Die member;
  if (dwarf_child(scope, &member) == 0) {
    do {
      const char* name = dwarf_diename(&member);
      if (dwarf_tag(&member) == DW_TAG_subprogram && name != nullptr &&
          std::string_view(name) == "operator()") {
        return "{lambda}";
      }
    } while (dwarf_siblingof(&member, &member) == 0);
  }
  return "{unnamed type}";
}

template <typename Prefix>
std::string function_name(Dwarf_Die* scope, Prefix&& prefix);

// "outer::" from the DIEs around a declaration that qualify it, innermost first: the
// innermost function among them gives the start (its own name, qualified), and the
// namespaces and classes inside it follow. `prefix` qualifies a function's declaration.
template <typename Prefix>
std::string qualified_by(const std::vector<Dwarf_Die>& around, Prefix&& prefix) {
  std::size_t end = around.size();
  std::string out;
  for (std::size_t i = 0; i < around.size(); ++i) {
    Dwarf_Die die = around[i];
    if (dwarf_tag(&die) == DW_TAG_subprogram) {
      out = function_name(&die, prefix) + "::";
      end = i;
      break;
    }
  }
  for (std::size_t i = end; i-- > 0;) {
    Dwarf_Die die = around[i];
    out += scope_part(&die);
    out += "::";
  }
  return out;
}

// "ns::Class::" for `declaration`, from libdw's walk of its unit down to it: the way for a
// declaration outside the unit UnitScopes indexed (another unit, a unit shared by dwz).
inline std::string enclosing_scopes(Dwarf_Die* declaration) {
  Dwarf_Die* parents = nullptr;
  const int count = dwarf_getscopes_die(declaration, &parents);
  std::vector<Dwarf_Die> around;
  // parents[0] is the declaration itself; outer scopes follow.
  for (int i = 1; i < count; ++i) {
    if (qualifies(dwarf_tag(&parents[i]))) around.push_back(parents[i]);
  }
  std::free(parents);
  return qualified_by(around, [](Dwarf_Die* outer) { return enclosing_scopes(outer); });
}

// The function a subprogram or inlined-call DIE names: its linkage name demangled
// (parameters included), else its plain name qualified by `prefix`, the namespaces and
// classes around its declaration (GCC gives functions that were only ever inlined no
// linkage name); an inlined call names the function through its abstract origin.
template <typename Prefix>
std::string function_name(Dwarf_Die* scope, Prefix&& prefix) {
  Dwarf_Attribute attribute;
  const char* linkage =
      dwarf_formstring(dwarf_attr_integrate(scope, DW_AT_linkage_name, &attribute));
  if (linkage != nullptr) return demangle(linkage);
  const char* name = dwarf_formstring(dwarf_attr_integrate(scope, DW_AT_name, &attribute));
  if (name == nullptr) return {};
  Dwarf_Die declaration;
  if (!declaration_of(scope, &declaration)) return name;
  return prefix(&declaration) + name;
}

// A call inlined at an address: the function it called and where, inside it, the
// address stands.
struct InlinedFrame {
  std::string function;
  const char* file = nullptr;  // owned by libdw's session
  int line = 0;
  Dwarf_Die call;  // the DW_TAG_inlined_subroutine
};

// The function scopes of one compilation unit, and the namespaces and classes around its
// declarations, found in one walk of its DIE tree. libdw's dwarf_getscopes walks the unit
// from its root for every address, and dwarf_getscopes_die for every name to qualify:
// with thousands of functions in a unit, each new address cost a walk of all of them.
class UnitScopes {
 public:
  // Walks `unit` (a compilation unit's DIE, as dwfl_module_addrdie gives it) once.
  explicit UnitScopes(Dwarf_Die* unit) : cu_(unit->cu) {
    collect(unit, -1, ~Dwarf_Off{0});
    std::sort(roots_.begin(), roots_.end(),
              [](const Root& a, const Root& b) { return a.low < b.low; });
    if (dwarf_getsrcfiles(unit, &files_, nullptr) != 0) files_ = nullptr;
  }

  // The calls inlined at `pc` (an address in the unit's own terms: the module's address
  // minus the bias dwfl_module_addrdie gave), innermost first. On entry `file` and `line`
  // are the line table's location of `pc`; each inlined frame takes them, and they become
  // its call site, so that on return they are where the outermost function stands.
  std::vector<InlinedFrame> inlined_frames(Dwarf_Addr pc, const char*& file, int& line) const {
    std::vector<InlinedFrame> frames;
    const std::vector<const Scope*> chain = chain_at(pc);
    for (std::size_t i = chain.size(); i-- > 1;) {
      Dwarf_Die die = chain[i]->die;
      frames.push_back(InlinedFrame{
          function_name(&die, [this](Dwarf_Die* declaration) { return prefix_of(declaration); }),
          file, line, die});
      Dwarf_Attribute attribute;
      Dwarf_Word call_file = 0;
      Dwarf_Word call_line = 0;
      dwarf_formudata(dwarf_attr(&die, DW_AT_call_file, &attribute), &call_file);
      dwarf_formudata(dwarf_attr(&die, DW_AT_call_line, &attribute), &call_line);
      file = files_ != nullptr ? dwarf_filesrc(files_, call_file, nullptr, nullptr) : nullptr;
      line = static_cast<int>(call_line);
    }
    return frames;
  }

 private:
  // Functions and inlined calls that have code (address ranges), in preorder: the
  // scopes nested in one follow it up to `end`.
  struct Scope {
    Dwarf_Die die;
    std::uint32_t first_range = 0;  // into ranges_
    std::uint32_t last_range = 0;   // one past
    std::uint32_t end = 0;          // index past the scopes nested in this one
    bool inlined = false;
  };
  // A subprogram's address range; a function split in hot and cold parts has two.
  struct Root {
    Dwarf_Addr low = 0;
    Dwarf_Addr high = 0;
    std::uint32_t scope = 0;
  };
  // A namespace, class, structure, union or function of the unit, in preorder: the DIEs
  // inside it are those at offsets in [start, end).
  struct Container {
    Dwarf_Off start = 0;
    Dwarf_Off end = 0;
    std::int32_t parent = -1;  // the container around this one
    Dwarf_Die die;
  };

  // Walks the children of `parent`, whose subtree ends at offset `end`, inside
  // `container` (an index into containers_, -1 for none).
  void collect(Dwarf_Die* parent, std::int32_t container, Dwarf_Off end) {
    Dwarf_Die child;
    if (dwarf_child(parent, &child) != 0) return;
    for (bool more = true; more;) {
      Dwarf_Die next;
      more = dwarf_siblingof(&child, &next) == 0;
      const Dwarf_Off child_end = more ? dwarf_dieoffset(&next) : end;
      const int tag = dwarf_tag(&child);
      if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
        const bool inlined = tag == DW_TAG_inlined_subroutine;
        const auto first_range = static_cast<std::uint32_t>(ranges_.size());
        const auto index = static_cast<std::uint32_t>(scopes_.size());
        Dwarf_Addr base = 0;
        Dwarf_Addr low = 0;
        Dwarf_Addr high = 0;
        for (ptrdiff_t at = 0; (at = dwarf_ranges(&child, at, &base, &low, &high)) > 0;) {
          ranges_.emplace_back(low, high);
          if (!inlined) roots_.push_back(Root{low, high, index});
        }
        // Only code is a scope: a declaration, or the abstract tree of an inline function,
        // has no address ranges and nothing with ranges inside it.
        const bool code = ranges_.size() > first_range;
        if (code) {
          scopes_.push_back(
              Scope{child, first_range, static_cast<std::uint32_t>(ranges_.size()), 0, inlined});
        }
        if (dwarf_haschildren(&child) != 0) {
          // A function holds the classes of its lambdas and its local classes: it is a
          // container if it holds one.
          std::int32_t inside = container;
          if (!inlined && child.cu == cu_) {
            inside = static_cast<std::int32_t>(containers_.size());
            containers_.push_back(Container{dwarf_dieoffset(&child), child_end, container, child});
          }
          collect(&child, inside, child_end);
          if (inside != container && containers_.size() == static_cast<std::size_t>(inside) + 1) {
            containers_.pop_back();
          }
        }
        if (code) scopes_[index].end = static_cast<std::uint32_t>(scopes_.size());
      } else if (qualifies(tag) && child.cu == cu_) {
        const auto index = static_cast<std::int32_t>(containers_.size());
        containers_.push_back(Container{dwarf_dieoffset(&child), child_end, container, child});
        if (dwarf_haschildren(&child) != 0) collect(&child, index, child_end);
      } else if (tag == DW_TAG_imported_unit) {
        // A unit that dwz shared between units stands where it is imported. Its
        // namespaces and classes are not indexed (their offsets are another unit's):
        // names declared in it are qualified by libdw's walk (prefix_of).
        Dwarf_Attribute attribute;
        Dwarf_Die imported;
        if (dwarf_formref_die(dwarf_attr(&child, DW_AT_import, &attribute), &imported) != nullptr) {
          collect(&imported, -1, ~Dwarf_Off{0});
        }
      } else if (dwarf_haschildren(&child) != 0) {
        collect(&child, container, child_end);
      }
      child = next;
    }
  }

  // "ns::Class::" for a declaration: from the containers when it is in this unit.
  std::string prefix_of(Dwarf_Die* declaration) const {
    if (declaration->cu != cu_) return enclosing_scopes(declaration);
    const Dwarf_Off offset = dwarf_dieoffset(declaration);
    auto it = std::upper_bound(
        containers_.begin(), containers_.end(), offset,
        [](Dwarf_Off value, const Container& container) { return value < container.start; });
    auto index = static_cast<std::int32_t>(it - containers_.begin()) - 1;
    // The declaration itself may be a container (a function's definition names its
    // declaration): only those around it count.
    while (index >= 0 && (offset >= containers_[index].end || offset == containers_[index].start)) {
      index = containers_[index].parent;
    }
    std::vector<Dwarf_Die> around;
    for (; index >= 0; index = containers_[index].parent) around.push_back(containers_[index].die);
    return qualified_by(around, [this](Dwarf_Die* outer) { return prefix_of(outer); });
  }

  bool contains(const Scope& scope, Dwarf_Addr pc) const {
    for (std::uint32_t r = scope.first_range; r < scope.last_range; ++r) {
      if (pc >= ranges_[r].first && pc < ranges_[r].second) return true;
    }
    return false;
  }

  // The subprogram containing `pc` and the inlined calls in it that contain `pc`,
  // outermost first; empty when no subprogram does.
  std::vector<const Scope*> chain_at(Dwarf_Addr pc) const {
    std::vector<const Scope*> out;
    auto it = std::upper_bound(roots_.begin(), roots_.end(), pc,
                               [](Dwarf_Addr value, const Root& root) { return value < root.low; });
    // Subprograms do not overlap, except the rare one nested in another (a local
    // class's member function): look back a little for one that contains pc.
    const Root* found = nullptr;
    for (int steps = 0; it != roots_.begin() && steps < 64; ++steps) {
      --it;
      if (pc >= it->low && pc < it->high) {
        found = &*it;
        break;
      }
    }
    if (found == nullptr) return out;
    const Scope& root = scopes_[found->scope];
    out.push_back(&root);
    for (std::uint32_t i = found->scope + 1; i < root.end;) {
      const Scope& scope = scopes_[i];
      if (contains(scope, pc)) {
        if (scope.inlined) out.push_back(&scope);
        ++i;  // descend
      } else {
        i = scope.end;  // skip what is nested in it
      }
    }
    return out;
  }

  Dwarf_CU* cu_;
  std::vector<std::pair<Dwarf_Addr, Dwarf_Addr>> ranges_;
  std::vector<Scope> scopes_;
  std::vector<Root> roots_;            // sorted by low
  std::vector<Container> containers_;  // in preorder: sorted by start
  Dwarf_Files* files_ = nullptr;
};

// The units of one libdw session indexed so far, each made the first time an address in
// it is symbolized. Keyed by where the unit's DIE lies in the session's mapped debug
// information: clear() whenever the session may have unmapped a module.
class UnitIndex {
 public:
  const UnitScopes& of(Dwarf_Die* unit) {
    std::unique_ptr<UnitScopes>& slot = units_[unit->addr];
    if (slot == nullptr) slot = std::make_unique<UnitScopes>(unit);
    return *slot;
  }
  void clear() { units_.clear(); }

 private:
  absl::flat_hash_map<const void*, std::unique_ptr<UnitScopes>> units_;
};

}  // namespace restrack::dwarf_scopes
