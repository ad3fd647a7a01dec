#!/usr/bin/env bash
# Installs what the Windows build needs (docs/windows.md), from Debian 12 only:
#   1. the Debian packages: mingw-w64 (posix thread model), Wine, and the tools below;
#   2. Abseil, GoogleTest, Google Benchmark, fmt, spdlog, RE2 and libbacktrace cross-built
#      for Windows from Debian's own source packages (Debian ships no mingw builds of them), into a prefix
#      outside the clone, together with a ready WINEPREFIX.
# The prefix lives in $RESTRACK_CACHE_DIR (default /var/cache/restrack-ci) as
# windows-<key>, where the key hashes everything that went into it (this script, the
# toolchain file, the source and tool versions); `windows` links to the current one.
# Idempotent: with everything in place it only checks, and changes nothing.
set -euo pipefail
self=$(realpath "$0")
cd "$(dirname "$self")/../.."
repo=$PWD
toolchain=$repo/cmake/toolchain-mingw-w64.cmake
cache_dir=${RESTRACK_CACHE_DIR:-/var/cache/restrack-ci}
jobs=2

packages=(
  cmake ninja-build ccache make xz-utils dpkg-dev
  g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64 mingw-w64-x86-64-dev
  wine wine64
  libboost1.81-dev
  unicode-data perl python3
)
# Debian source packages cross-built here (re2: the tracker's suppression rules;
# benchmark: the Windows benchmarks, tools/bench). libbacktrace comes from gcc-12's: no
# Debian patch of gcc-12 touches it, so the upstream copy in its tarball is Debian's.
source_packages=(abseil googletest benchmark fmtlib spdlog re2 gcc-12)

log() { echo "install-windows-deps: $*"; }
as_root() {
  if [ "$(id -u)" -ne 0 ]; then sudo "$@"; else "$@"; fi
}
# Other sessions may be running apt on the same machine: wait for its lock.
apt_get() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

# --- 1. Debian packages, only those missing -------------------------------------------
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt_get update -qq
  apt_get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. deb-src entries for the suite we run on, if none exist ------------------------
# (apt-cache showsrc is the cheap check; it finds nothing without deb-src entries.)
if ! apt-cache showsrc abseil 2>/dev/null | grep -q '^Version:'; then
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  if ! apt-get indextargets --format '$(CREATED_BY) $(CODENAME)' 'Origin: Debian' |
    grep -q "^Sources $codename"; then
    # The same archives, suites and components as the binary entries, as deb-src.
    list=/etc/apt/sources.list.d/restrack-deb-src.list
    log "adding deb-src entries for $codename in $list"
    apt-get indextargets \
      --format 'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(REPO_URI) $(RELEASE) $(COMPONENT)' \
      'Origin: Debian' 'Created-By: Packages' | grep " $codename" | sort -u |
      as_root tee "$list" >/dev/null
  fi
  apt_get update -qq
fi

# --- 3. The key: everything that goes into the prefix --------------------------------
# The source versions are those `apt-get source` would fetch now (with their checksums).
source_uris=$(apt-get source --print-uris "${source_packages[@]}" 2>/dev/null | grep "^'" |
  awk '{print $2, $4}' | sort)
if [ "$(grep -c '\.dsc ' <<<"$source_uris")" -ne ${#source_packages[@]} ]; then
  echo "install-windows-deps: apt-get source cannot find all of ${source_packages[*]}" >&2
  exit 1
fi
manifest=$(
  echo "script $(sha256sum <"$self" | cut -d' ' -f1)"
  echo "toolchain $(sha256sum <"$toolchain" | cut -d' ' -f1)"
  dpkg-query -W cmake g++-mingw-w64-x86-64-posix binutils-mingw-w64-x86-64 \
    mingw-w64-x86-64-dev wine wine64 libboost1.81-dev unicode-data
  echo "$source_uris"
)
key=$(sha256sum <<<"$manifest" | cut -c1-16)
prefix=$cache_dir/windows-$key

# --- 4. Build under a lock, unless a complete prefix for this key exists ---------------
# Outputs of the cross builds go to a log; on failure its end is shown.
build_log=$cache_dir/windows-$key.log
run_logged() {
  if ! "$@" >>"$build_log" 2>&1; then
    echo "install-windows-deps: failed: $*" >&2
    tail -n 40 "$build_log" >&2
    exit 1
  fi
}

# cmake_package NAME SOURCE_DIR [CMAKE ARGS...]: configure, build and install one package
# with the toolchain file, statically, into the prefix.
cmake_package() {
  local name=$1 source=$2
  shift 2
  local start=$SECONDS
  run_logged cmake -S "$source" -B "$work/build-$name" -G Ninja --toolchain "$toolchain" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" -DBUILD_SHARED_LIBS=OFF \
    -DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache \
    -DCMAKE_C_FLAGS="$path_map" -DCMAKE_CXX_FLAGS="$path_map" "$@"
  run_logged cmake --build "$work/build-$name" -j "$jobs"
  run_logged cmake --install "$work/build-$name"
  log "  $name: $((SECONDS - start)) s"
}

# Extracts Debian source package NAME (already downloaded) into $work/NAME, with Debian's
# patches applied.
extract_source() {
  local dsc
  dsc=$(grep -o "^$1_[^ ]*\.dsc" <<<"$source_uris")
  run_logged dpkg-source --no-check -x "$downloads/$dsc" "$work/$1"
}

# libbacktrace is not built on its own by gcc's tree; configure just its directory, with
# the top-level helper scripts it refers to, and install the library and its headers.
build_libbacktrace() {
  local start=$SECONDS orig inner
  orig=$(grep -o '^gcc-12_[^ ]*\.orig\.tar\.gz' <<<"$source_uris")
  # (No grep -m1 here: under pipefail, tar killed by SIGPIPE would fail the script.)
  inner=$(tar -tzf "$downloads/$orig" | grep '/gcc-[0-9.]*-dfsg\.tar\.xz$')
  local top=${inner##*/}
  top=${top%-dfsg.tar.xz}
  mkdir -p "$work/gcc"
  tar -xzf "$downloads/$orig" -O "$inner" | tar -xJf - -C "$work/gcc" --wildcards \
    "$top/libbacktrace/*" "$top/config/*" "$top/include/*" "$top/config.guess" \
    "$top/config.sub" "$top/install-sh" "$top/ltmain.sh" "$top/missing" "$top/compile" \
    "$top/depcomp" "$top/mkinstalldirs"
  local build=$work/build-libbacktrace
  mkdir -p "$build"
  (
    cd "$build"
    run_logged "$work/gcc/$top/libbacktrace/configure" --host=x86_64-w64-mingw32 \
      --disable-shared --enable-static CC="ccache x86_64-w64-mingw32-gcc-posix" \
      CFLAGS="-O2 $path_map"
    run_logged make -j "$jobs" libbacktrace.la
  )
  install -D -m 644 "$build/.libs/libbacktrace.a" "$prefix/lib/libbacktrace.a"
  install -D -m 644 "$work/gcc/$top/libbacktrace/backtrace.h" "$prefix/include/backtrace.h"
  install -D -m 644 "$build/backtrace-supported.h" "$prefix/include/backtrace-supported.h"
  # backtrace.h includes this one where the C library is not glibc (configure made it).
  install -D -m 644 "$build/gstdint.h" "$prefix/include/gstdint.h"
  log "  libbacktrace (from gcc-12): $((SECONDS - start)) s"
}

# A WINEPREFIX made once here, so no test pays for creating it (~9 s). mscoree and
# mshtml are disabled so wineboot does not offer to download Wine Mono and Gecko.
make_wine_prefix() {
  local start=$SECONDS
  # 9>&-: the Wine server must not inherit (and so keep holding) the lock.
  WINEPREFIX=$prefix/wine WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
    run_logged wine wineboot --init </dev/null 9>&-
  # Wait for this prefix's Wine server to exit, so nothing of the build stays running.
  WINEPREFIX=$prefix/wine run_logged wineserver -w 9>&-
  log "  WINEPREFIX: $((SECONDS - start)) s"
}

build_prefix() {
  rm -rf "$prefix" "$build_log"
  # One fixed build directory (we hold the lock), so that ccache recognises the
  # compilations of an earlier build when a change here makes a new key.
  work=$cache_dir/build-windows
  rm -rf "$work"
  mkdir -p "$work" "$prefix"
  trap 'rm -rf "$work"' EXIT
  # Paths compiled into the libraries (gtest_main prints its own) name the sources, not
  # the build directory.
  path_map="-ffile-prefix-map=$work/="
  # Source packages stay in downloads/ so a rebuild after a change here fetches nothing.
  downloads=$cache_dir/downloads
  mkdir -p "$downloads"
  log "fetching source packages: ${source_packages[*]}"
  # apt's downloader runs as _apt; let it write here rather than fall back to root.
  if id _apt >/dev/null 2>&1; then chown _apt "$downloads"; fi
  (cd "$downloads" && run_logged apt-get source --download-only "${source_packages[@]}")

  log "cross-building into $prefix (log: $build_log)"
  export RESTRACK_WINDOWS_PREFIX=$prefix
  extract_source abseil
  # As Debian builds it (debian/rules): C++17, static; the patched options.h makes
  # absl::string_view & co. Abseil's own types, as on Linux.
  cmake_package abseil "$work/abseil" -DCMAKE_CXX_STANDARD=17 -DABSL_PROPAGATE_CXX_STD=ON
  extract_source googletest
  cmake_package googletest "$work/googletest"
  extract_source benchmark
  # As Debian builds it (debian/rules): the version from the package, not from Git (which
  # the patched CMakeLists.txt no longer reads); without its own tests, the library only.
  local benchmark_version
  benchmark_version=$(grep -o '^benchmark_[^ ]*\.dsc' <<<"$source_uris")
  benchmark_version=${benchmark_version#benchmark_}
  benchmark_version=${benchmark_version%%-*}
  cmake_package benchmark "$work/benchmark" -DGIT_VERSION="$benchmark_version" \
    -DBENCHMARK_ENABLE_TESTING=OFF -DBENCHMARK_ENABLE_WERROR=OFF -DBENCHMARK_INSTALL_DOCS=OFF
  extract_source fmtlib
  cmake_package fmt "$work/fmtlib" -DFMT_DOC=OFF -DFMT_TEST=OFF
  extract_source spdlog
  # As Debian does: drop the bundled fmt and build against the fmt above.
  rm -rf "$work/spdlog/include/spdlog/fmt/bundled"
  cmake_package spdlog "$work/spdlog" -DSPDLOG_FMT_EXTERNAL=ON -DSPDLOG_BUILD_EXAMPLE=OFF \
    -DSPDLOG_BUILD_TESTS=OFF
  extract_source re2
  # As Debian builds it (REBUILD_TABLES=1): the Unicode tables its source package leaves
  # out are generated from unicode-data's files.
  run_logged make -C "$work/re2" REBUILD_TABLES=1 re2/perl_groups.cc re2/unicode_casefold.cc \
    re2/unicode_groups.cc
  cmake_package re2 "$work/re2" -DRE2_BUILD_TESTING=OFF
  build_libbacktrace
  # Boost.Stacktrace and Boost.JSON are used header-only, from libboost1.81-dev.
  ln -s /usr/include/boost "$prefix/include/boost"
  make_wine_prefix

  echo "$manifest" >"$prefix/manifest.txt"
  # Keep only the source packages of this build.
  local keep file
  keep=$(awk '{print $1}' <<<"$source_uris")
  for file in "$downloads"/*; do
    grep -qxF "${file##*/}" <<<"$keep" || rm -f "$file"
  done
  rm -rf "$work"
  trap - EXIT
  touch "$prefix/.complete"
}

mkdir -p "$cache_dir"
exec 9>"$cache_dir/windows.lock"
if ! flock -n 9; then
  log "waiting for another run to release $cache_dir/windows.lock"
  flock 9
fi
if [ -f "$prefix/.complete" ]; then
  log "cross-built dependencies up to date in $prefix"
else
  start=$SECONDS
  build_prefix
  log "cross-built in $((SECONDS - start)) s"
  # Prefixes of other keys are not current: drop those left incomplete by a failed run
  # (none can be in progress: we hold the lock) and those unused for a week.
  for other in "$cache_dir"/windows-*/; do
    other=${other%/}
    [ "$other" != "$prefix" ] || continue
    if [ ! -f "$other/.complete" ] || [ -n "$(find "$other" -maxdepth 0 -mtime +7)" ]; then
      # A Wine server still running in it would otherwise outlive its prefix.
      WINEPREFIX=$other/wine wineserver -k </dev/null >/dev/null 2>&1 9>&- || true
      rm -rf "$other" "$other.log"
    fi
  done
fi
if [ "$(readlink "$cache_dir/windows" 2>/dev/null)" != "windows-$key" ]; then
  ln -sfn "windows-$key" "$cache_dir/windows.new"
  mv -T "$cache_dir/windows.new" "$cache_dir/windows"
fi
touch "$prefix"
