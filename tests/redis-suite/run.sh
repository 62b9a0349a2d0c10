#!/usr/bin/env bash
# Runs Redis 7.0.15's own test suite (tests/unit/*.tcl of Debian's source tarball) against this server, in the
# suite's external-server mode: each unit file on a fresh server, and a line per unit with the tests that passed
# and failed. A failed test with an exception stops the rest of its file (the suite's own rule).
#
#   tests/redis-suite/run.sh                   # every unit below, against the native build (or the JIT build)
#   tests/redis-suite/run.sh unit/multi unit/type/zset
#   tests/redis-suite/run.sh --redis unit/multi   # the same against redis-server, as a baseline
#   tests/redis-suite/run.sh --accurate integration/corrupt-dump-fuzzer   # the suite's --accurate: longer fuzzing
#   tests/redis-suite/run.sh --harness-servers unit/info   # the harness starts each server itself, with the test's
#       own configuration, through a src/redis-server that runs ours: the tests tagged external:skip run too
#
# Needs tclsh, python3 and the tarball (fetched from deb.debian.org once and checked against its SHA-256, or given
# as REDIS_SUITE_TARBALL). Nothing of Redis is kept in this repository: the tarball is unpacked under
# REDIS_SUITE_DIR (default /tmp/kps-redis-suite), and the run changes its copy of the harness in one place:
#  - `r` answers OK, without sending them, the commands of features this server does not have or keeps elsewhere
#    (CONFIG SET of listpack/ziplist/intset thresholds, AOF, replication and Lua settings, sanitize-dump-payload;
#    DEBUG RELOAD, LOADAOF, HTSTATS-KEY, LISTPACK, QUICKLIST-PACKED-THRESHOLD, STRINGMATCH-LEN), so a file goes on;
#  - encodings are not asserted (--ignore-encoding: the thresholds are not configurable here), tests tagged
#    needs:repl or needs:save are skipped (no replication; SAVE needs persistence on), and so are the tests that
#    read the replication stream, rewrite the AOF, SAVE, size reply buffers (DEBUG REPLYBUFFER), or need a
#    timed-out script's BUSY state or DEBUG RELOAD (see the skips below);
#  - the two RESTORE corruption files in integration/ are adapted to a server started elsewhere (see below).
set -euo pipefail

version=7.0.15
sha256=4b1dc4ee6d622a09fff9c6777191209750fb5e5a725ef78ea012d6eef4c22982
dir=${REDIS_SUITE_DIR:-/tmp/kps-redis-suite}
repo=$(cd "$(dirname "$0")/../.." && pwd)
against=ours
accurate=() limit=900 test_timeout=60 harness_servers=0
while [ $# -gt 0 ]; do
  case "$1" in
    --redis) against=redis; shift ;;
    --accurate) accurate=(--accurate); limit=3600; test_timeout=1300; shift ;; # the suite's longer fuzzing loops
    --harness-servers) harness_servers=1; shift ;;
    *) break ;;
  esac
done

mkdir -p "$dir"
tarball=${REDIS_SUITE_TARBALL:-$dir/redis_$version.orig.tar.gz}
if [ ! -f "$tarball" ]; then
  curl -fsS -o "$tarball" "http://deb.debian.org/debian/pool/main/r/redis/redis_$version.orig.tar.gz"
fi
echo "$sha256  $tarball" | sha256sum -c --quiet -
src=$dir/redis-$version
marker=.kps-patched-9 # changed whenever the patching below changes
if [ ! -f "$src/tests/$marker" ]; then
  rm -rf "$src"
  tar xzf "$tarball" -C "$dir"
  python3 - "$src/tests" "$marker" <<'PY'
import re, sys, glob, os
tests, marker = sys.argv[1], sys.argv[2]
helper = os.path.join(tests, 'test_helper.tcl')
s = open(helper).read()
old = '    [srv $level "client"] {*}$args\n}\n'
new = '''    set a0 [string tolower [lindex $args 0]]
    set a1 [string tolower [lindex $args 1]]
    if {$a0 eq "config" && $a1 eq "set" && [regexp {ziplist|listpack|intset|compress-depth|appendonly|repl-|aof-|rdb-key-save-delay|sanitize-dump-payload} [lindex $args 2]]} { return OK }
    if {$a0 eq "debug" && [lsearch {reload loadaof htstats-key listpack quicklist-packed-threshold stringmatch-len} $a1] >= 0} { return OK }
    [srv $level "client"] {*}$args
}
'''
assert s.count(old) == 1, 'the harness changed: proc r not found'
open(helper, 'w').write(s.replace(old, new))
# Tests that read the replication stream, rewrite the AOF, SAVE, or size reply buffers.
names = set()
for f in glob.glob(os.path.join(tests, 'unit', '*.tcl')) + glob.glob(os.path.join(tests, 'unit', 'type', '*.tcl')):
    text = open(f).read()
    heads = list(re.finditer(r'^\s*test\s+(\{[^}\n]*\}|"[^"\n]*")', text, re.M))
    for i, m in enumerate(heads):
        body = text[m.end():heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        if re.search(r'attach_to_replication_stream|bgrewriteaof|debug replybuffer|repl-backlog|\br save\b', body):
            names.add(m.group(1)[1:-1])
# The RESTORE corruption tests (integration/): against an external server they cannot read its log nor restart it,
# so each check of the log becomes a check that the server still answers, and the two tests that start a server
# on a damaged RDB file are skipped (this server loads no RDB file).
for name in ('corrupt-dump.tcl', 'corrupt-dump-fuzzer.tcl'):
    f = os.path.join(tests, 'integration', name)
    text = open(f).read()
    text = text.replace(' "external:skip"}', '}')
    text = re.sub(r'start_server \[list overrides \[list loglevel verbose use-exit-on-panic yes crash-memcheck-enabled no\] \]', 'start_server {}', text)
    text = text.replace('start_server [list overrides [list "save" "" use-exit-on-panic yes crash-memcheck-enabled no loglevel verbose] ]', 'start_server {}')
    text = re.sub(r'verify_log_message 0 "[^"]*" 0', 'assert_equal [r ping] PONG', text)
    text = re.sub(r'assert_equal \[count_log_message 0 "[^"]*"\] [01]', 'assert_equal [r ping] PONG', text)
    text = text.replace('[count_log_message 0 "crashed by signal"]', '0')
    text = text.replace('[find_valgrind_errors [srv 0 stderr] false]', '""').replace('[sanitizer_errors_from_file [srv 0 stderr]]', '""')
    text = text.replace('set stdout [srv 0 stdout]', 'set stdout ""')
    text = text.replace('            r save\n', '') # its RDB file is not used; SAVE needs persistence on here
    # RESTORE here always checks a payload whole (as Redis's sanitize-dump-payload yes): a RESTORE that Redis takes
    # unchecked and that the test expects to succeed may be refused, so it is caught; the checks after it still run.
    lines = text.split('\n')
    for i, line in enumerate(lines):
        m = re.match(r'^(\s+)r (restore|RESTORE) (.*)$', line)
        if m and not lines[i - 1].rstrip().endswith('catch {'):
            lines[i] = f'{m.group(1)}catch {{r {m.group(2)} {m.group(3)}}}'
    text = '\n'.join(lines)
    open(f, 'w').write(text)
names.update(['corrupt payload: load corrupted rdb with no CRC - #3505', 'corrupt payload: load corrupted rdb with empty keys'])
# A script past busy-reply-threshold is stopped here, not left running with -BUSY answers (README, Deliberate
# differences): the tests of a timed-out script's BUSY state cannot pass.
names.update(['Timedout read-only scripts can be killed by SCRIPT KILL',
              'Timedout read-only scripts can be killed by SCRIPT KILL even when use pcall',
              'Timedout script does not cause a false dead client', 'Timedout script link is still usable after Lua returns',
              'Timedout scripts and unblocked command', "Timedout scripts that modified data can't be killed by SCRIPT KILL",
              'SHUTDOWN NOSAVE can kill a timedout script anyway', 'MULTI and script timeout', 'EXEC and script timeout',
              'MULTI-EXEC body and script timeout', 'just EXEC and script timeout',
              'FUNCTION - test function kill', 'FUNCTION - test script kill not working on function',
              'FUNCTION - test function kill not working on eval'])
# DEBUG RELOAD (answered OK by `r` above, without an RDB file to load) cannot fail as the test expects.
names.add('FUNCTION - test debug reload different options')
# Scripts against a replica's state (no replication here).
names.update(['not enough good replicas', 'not enough good replicas state change during long script', 'allow-stale shebang flag'])
open(os.path.join(tests, 'kps-skips.txt'), 'w').write('\n'.join(sorted(names)) + '\n')
open(os.path.join(tests, marker), 'w').write('')
PY
fi

units=("$@")
if [ ${#units[@]} -eq 0 ]; then
  mapfile -t units < <(cd "$src/tests" && ls unit/*.tcl unit/type/*.tcl | sed 's/\.tcl$//' |
    grep -v -E 'tls|aofrw|cluster|violations|printver|list-common|moduleapi')
  units+=(integration/redis-cli integration/corrupt-dump integration/corrupt-dump-fuzzer)
fi
ln -sf "$(command -v redis-cli)" "$src/src/redis-cli" # integration/redis-cli runs src/redis-cli: Debian's, 7.0.15

native=$repo/src/KeyspacePubSub.Server/bin/Release/net10.0/linux-x64/publish/keyspacepubsub-server
jit=$repo/src/KeyspacePubSub.Server/bin/Release/net10.0/keyspacepubsub-server.dll
port=${REDIS_SUITE_PORT:-7790}
passed=0 failed=0
tally() { # unit, log: a line for the unit, and the totals
  local ok err
  ok=$(grep -c '^\[.*ok.*\]:' "$2" || true)
  err=$(grep -c -E '^\[.*(err|exception).*\]:' "$2" || true)
  passed=$((passed + ok)); failed=$((failed + err))
  printf '%-28s %4d passed %3d failed  %s\n' "$1" "$ok" "$err" "$(grep -m1 -E '^\[.*(err|exception).*\]:' "$2" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-110)"
}
if [ $harness_servers = 1 ]; then
  # The harness waits for " PID: <pid>" in a new server's output (Redis's logo), then for its port to answer.
  if [ $against = redis ]; then server_bin=$(command -v redis-server)
  elif [ -x "$native" ]; then server_bin=$native
  else server_bin="dotnet $jit"; fi
  printf '#!/bin/sh\necho "started by the test harness, PID: $$"\nexec %s "$@"\n' "$server_bin" > "$src/src/redis-server"
  chmod +x "$src/src/redis-server"
  for unit in "${units[@]}"; do
    log=$dir/$against-harness.$(echo "$unit" | tr / _).log
    (cd "$src" && timeout $limit ./runtest --single "$unit" --clients 1 --timeout $test_timeout "${accurate[@]}" \
       --tags -needs:repl --tags -needs:save --ignore-encoding --skipfile tests/kps-skips.txt) > "$log" 2>&1 || true
    tally "$unit" "$log"
  done
  echo "$passed passed, $failed failed (logs in $dir)"
  exit 0
fi
for unit in "${units[@]}"; do
  log=$dir/$against.$(echo "$unit" | tr / _).log
  if [ $against = redis ]; then
    redis-server --port $port --save '' --enable-debug-command yes > "$log.server" 2>&1 &
  elif [ -x "$native" ]; then
    "$native" --port $port --enable-debug-command yes > "$log.server" 2>&1 &
  else
    dotnet "$jit" --port $port --enable-debug-command yes > "$log.server" 2>&1 &
  fi
  server=$!
  for _ in $(seq 50); do redis-cli -p $port ping > /dev/null 2>&1 && break; sleep 0.1; done
  (cd "$src" && timeout $limit ./runtest --host 127.0.0.1 --port $port --single "$unit" --timeout $test_timeout \
     "${accurate[@]}" --tags -needs:repl --tags -needs:save --ignore-encoding --skipfile tests/kps-skips.txt) > "$log" 2>&1 || true
  kill $server 2> /dev/null || true
  wait $server 2> /dev/null || true
  tally "$unit" "$log"
done
echo "$passed passed, $failed failed (logs in $dir)"
