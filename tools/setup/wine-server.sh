#!/usr/bin/env bash
# Starts or stops the Wine server of the WINEPREFIX that the Windows build's tests run in
# (made by tools/setup/install-windows-deps.sh, used by cmake/toolchain-mingw-w64.cmake).
#   tools/setup/wine-server.sh start   before running the Windows tests
#   tools/setup/wine-server.sh stop    after them
# With the server and Wine's services already up, each test program starts in about
# 0.1 s instead of 1-3 s. They are started with their standard streams on /dev/null, so
# that nothing that outlives this script holds a pipe (a CI log, `| tee`) open.
set -euo pipefail
cache_dir=${RESTRACK_CACHE_DIR:-/var/cache/restrack-ci}
export WINEPREFIX=$cache_dir/windows/wine WINEDEBUG=-all

case ${1:-} in
  start)
    if [ ! -d "$WINEPREFIX" ]; then
      echo "wine-server: no WINEPREFIX at $WINEPREFIX; run tools/setup/install-windows-deps.sh" >&2
      exit 1
    fi
    # -p300: it stays up until five minutes after the last program exits (a server
    # forgotten by an interrupted run goes away by itself). Exit status 2 means a server
    # for this prefix is already running, which is what we want.
    status=0
    wineserver -p300 </dev/null >/dev/null 2>&1 || status=$?
    if [ $status -ne 0 ] && [ $status -ne 2 ]; then
      echo "wine-server: wineserver -p failed with status $status" >&2
      exit 1
    fi
    # Starts Wine's own services (services.exe, rpcss, ...) once, for all tests.
    wine wineboot </dev/null >/dev/null 2>&1
    echo "wine-server: running for $WINEPREFIX"
    ;;
  stop)
    # Ends the server and every Wine program in this prefix; nothing to do if none runs.
    wineserver -k </dev/null >/dev/null 2>&1 || true
    wineserver -w </dev/null >/dev/null 2>&1 || true
    echo "wine-server: stopped for $WINEPREFIX"
    ;;
  *)
    echo "usage: tools/setup/wine-server.sh start|stop" >&2
    exit 2
    ;;
esac
