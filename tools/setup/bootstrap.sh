#!/usr/bin/env bash
# The README's two commands:
#   tools/setup/bootstrap.sh demo   install what is missing, build and run restrack-demo
#   tools/setup/bootstrap.sh test   install what is missing, build and run every test
set -euo pipefail
cd "$(dirname "$0")/../.."

what=${1:-}
case "$what" in
  demo | test) ;;
  *)
    echo "usage: tools/setup/bootstrap.sh demo|test" >&2
    exit 2
    ;;
esac

tools/setup/install-deps.sh
case "$what" in
  demo)
    cmake --workflow --preset demo
    build/debug/tools/demo/restrack-demo
    ;;
  test)
    tools/setup/install-node-tools.sh
    cmake --workflow --preset debug
    ;;
esac
