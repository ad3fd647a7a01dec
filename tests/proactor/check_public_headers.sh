#!/usr/bin/env bash
# The proactor's public headers stay free of the backends' and the platform's headers:
# none includes liburing; the core ones (loop, tasks, futures, errors, combinators, call
# sites, protocols) include no socket or I/O-vector header, directly or through others.
# The socket-level ones (socket, transport, stream, server, pipe, subprocess) may, as uv.h
# does.
# Usage: check_public_headers.sh <compiler> <include dir>...
set -euo pipefail
compiler=$1
shift
includes=()
for dir in "$@"; do includes+=("-I$dir"); done
proactor_dir=$1
status=0
for header in "$proactor_dir"/restrack/proactor/*.h; do
  name=${header#"$proactor_dir"/}
  # -H lists every header the compiler opens, one per line, on stderr.
  opened=$("$compiler" -std=c++20 -DRESTRACK_TRACKING=1 -fsyntax-only -H -x c++ "$header" \
    "${includes[@]}" 2>&1 >/dev/null | grep -E '^\.+ ' || true)
  if grep -q 'liburing' <<<"$opened"; then
    echo "$name includes liburing"
    status=1
  fi
  case "$name" in
    */socket*.h | */transport*.h | */stream*.h | */server*.h | */pipe*.h | */subprocess*.h | \
      */proactor.h) ;;
    *)
      if grep -qE '/(sys/socket|sys/uio|netinet/[a-z_]+|arpa/inet)\.h$' <<<"$opened"; then
        echo "$name includes a socket header:"
        grep -E '/(sys/socket|sys/uio|netinet/[a-z_]+|arpa/inet)\.h$' <<<"$opened"
        status=1
      fi
      ;;
  esac
done
[ $status -eq 0 ] && echo "public proactor headers: clean"
exit $status
