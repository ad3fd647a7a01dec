#!/usr/bin/env bash
# Wine server requests per round trip of one ping-pong peer under Wine (issue 12,
# docs/PERFORMANCE.md "Proactor ping-pong under Wine"). Under Wine every handle operation
# is a request to the wineserver process, one write(2) or writev(2) on its request pipe, so
# the count does not depend on the machine's load the way times do.
#
#   tools/bench/wine_server_requests.sh PEER CONNECTIONS [PROGRAM]
#
# PEER is Asio, Restrack, RestrackCompiledOut, Transport or Streams; PROGRAM defaults to
# build/windows-bench/tools/bench/bench_pingpong.exe. The peer runs once with one
# repetition and once with six, one iteration each (--benchmark_min_time=0), under
# `strace -f -e trace=write,writev`; the difference in writes, divided by the round trips
# the five extra iterations made (100 per connection each), is printed with the requests
# that make it up, by request code (the first word of a request; the names are in Wine's
# server/request.h for the Wine version installed). Needs strace and the Wine server
# running (tools/setup/wine-server.sh start).
set -euo pipefail
cd "$(dirname "$0")/../.."
peer=$1
connections=$2
program=${3:-build/windows-bench/tools/bench/bench_pingpong.exe}
prefix=${RESTRACK_CACHE_DIR:-/var/cache/restrack-ci}/windows/wine
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for repetitions in 1 6; do
  strace -f -qq -e trace=write,writev -o "$work/trace.$repetitions" \
    tools/setup/wine-run.sh wine "$prefix" "$program" \
    --benchmark_filter="^BM_PingPong_${peer}/connections:${connections}/" \
    --benchmark_min_time=0 --benchmark_repetitions=$repetitions >"$work/out.$repetitions"
  iterations=$(awk '/^BM_/ {print $6; exit}' "$work/out.$repetitions")
  if [ "$iterations" != 1 ]; then
    echo "wine_server_requests: expected one iteration per repetition, got '$iterations'" >&2
    exit 1
  fi
done

python3 - "$work/trace.1" "$work/trace.6" $((5 * 100 * connections)) "$peer" "$connections" <<'EOF'
import collections, re, sys

# "1234 write(5, "\5\0\0\0...", 64) = 64", or writev with the request as the first iovec.
REQUEST = re.compile(r'^\d+ +writev?\(\d+, (?:\[\{iov_base=)?"((?:[^"\\]|\\.)*)"')
ESCAPES = {'n': 10, 't': 9, 'r': 13, 'v': 11, 'f': 12, 'a': 7, 'b': 8, '\\': 92, '"': 34}


def first_word(text):
    """The request code: the first four bytes of strace's escaped buffer, little-endian."""
    data = bytearray()
    i = 0
    while i < len(text) and len(data) < 4:
        if text[i] != '\\':
            data.append(ord(text[i]))
            i += 1
        elif text[i + 1] == 'x':
            data.append(int(text[i + 2:i + 4], 16))
            i += 4
        elif text[i + 1] in '01234567':
            digits = re.match(r'[0-7]{1,3}', text[i + 1:]).group()
            data.append(int(digits, 8))
            i += 1 + len(digits)
        else:
            data.append(ESCAPES[text[i + 1]])
            i += 2
    return int.from_bytes(bytes(data), 'little')


def requests(path):
    counts = collections.Counter()
    with open(path) as trace:
        for line in trace:
            match = REQUEST.match(line)
            if match:
                counts[first_word(match.group(1))] += 1
    return counts


one, six = requests(sys.argv[1]), requests(sys.argv[2])
round_trips = int(sys.argv[3])
total = (sum(six.values()) - sum(one.values())) / round_trips
print(f'{sys.argv[4]}, {sys.argv[5]} connection(s): {total:.2f} requests per round trip')
for code in sorted(set(one) | set(six), key=lambda code: one[code] - six[code]):
    per_round_trip = (six[code] - one[code]) / round_trips
    if abs(per_round_trip) >= 0.05:
        print(f'  request code {code}: {per_round_trip:.2f}')
EOF
