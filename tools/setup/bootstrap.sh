#!/usr/bin/env bash
# The README's two commands, and the Windows one (docs/windows.md):
#   tools/setup/bootstrap.sh demo      install what is missing, build and run restrack-demo
#   tools/setup/bootstrap.sh test      install what is missing, build and run every test
#   tools/setup/bootstrap.sh windows   the same for Windows: cross-build with mingw-w64,
#                                      run the tests under Wine
set -euo pipefail
cd "$(dirname "$0")/../.."

what=${1:-}
case "$what" in
  demo | test) tools/setup/install-deps.sh ;;
  windows) tools/setup/install-windows-deps.sh ;;
  *)
    echo "usage: tools/setup/bootstrap.sh demo|test|windows" >&2
    exit 2
    ;;
esac

case "$what" in
  demo)
    cmake --workflow --preset demo
    build/debug/tools/demo/restrack-demo
    ;;
  test)
    tools/setup/install-node-tools.sh
    cmake --workflow --preset debug
    ;;
  windows)
    tools/setup/wine-server.sh start
    trap 'tools/setup/wine-server.sh stop' EXIT
    status=0
    cmake --workflow --preset windows || status=$?
    # Programs that Wine ended at once without a word, run again (tools/setup/wine-run.sh).
    grep -h '^wine-run:' build/windows/Testing/Temporary/LastTest.log 2>/dev/null || true
    exit $status
    ;;
esac
