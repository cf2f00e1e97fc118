#!/usr/bin/env bash
# Check that a test run leaves no process behind: no `git daemon`,
# `docker-registry`, `moto_server`, `sshd` or anything else it started.
#
#   bash tools/check-leaks.sh run COMMAND [ARG...]
#       Run COMMAND, then check. Exits with COMMAND's status if it failed,
#       else 1 if something leaked, else 0.
#   id="$(bash tools/check-leaks.sh before STATE)"
#   GITOPS_LEAK_CHECK="$id" COMMAND
#   bash tools/check-leaks.sh after STATE
#       The same in steps (STATE: a file path the steps share).
#
# Two ways a process counts as leaked if it is still there after
# GITOPS_LEAK_GRACE seconds (default 5; killed processes may take a moment):
#   - it carries GITOPS_LEAK_CHECK=<this run's id> in its environment, which
#     every process started by COMMAND inherits unless its environment was
#     cleared (a few build-tool daemons are ignored: GITOPS_LEAK_IGNORE, an
#     extended regex on the command name, default `sccache`);
#   - it is a test server by name (below) and was not running before.
#     Server processes started meanwhile by something else on the machine
#     count too, so run it where nothing else starts test servers (CI).
set -euo pipefail

# Process names (at most 15 characters) of the servers the tests start.
SERVERS='git-daemon|docker-registry|registry|moto_server'
# Command lines of the same when started through a wrapper or interpreter,
# and of an sshd started with a configuration in a temporary directory (not
# the machine's own sshd and its per-connection processes).
SERVER_ARGS='(^|/)git daemon |git-http-backend|moto_server|registry serve|(^|/)sshd .*/tmp/'
GRACE="${GITOPS_LEAK_GRACE:-5}"
IGNORE="${GITOPS_LEAK_IGNORE:-sccache}"

usage() {
    sed -n '2,11p' "$0" >&2
    exit 2
}

# `pid start-time` of every test server, sorted.
servers() {
    local pids
    # One name per pgrep -x: process names are at most 15 characters, and
    # pgrep warns about (and may not match) a longer pattern.
    pids="$({ for name in ${SERVERS//|/ }; do pgrep -x "$name"; done; pgrep -f "$SERVER_ARGS"; } | sort -un | paste -sd, -)" || true
    [ -n "$pids" ] || return 0
    { ps -o pid=,lstart= -p "$pids" || true; } | sed 's/^ *//; s/  */ /g' | sort
}

# Pids of live processes whose environment holds GITOPS_LEAK_CHECK=$1.
tagged() {
    local id="$1" f pid
    for f in /proc/[0-9]*/environ; do
        pid="${f#/proc/}"
        pid="${pid%/environ}"
        [ "$pid" != "$$" ] || continue
        if grep -qzxF "GITOPS_LEAK_CHECK=$id" "$f" 2>/dev/null; then
            echo "$pid"
        fi
    done
}

# Pids leaked relative to the snapshot in $1, one a line.
leaked() {
    local state="$1" id pid comm stat
    id="$(cat "$state.id")"
    {
        servers | comm -13 "$state" - | awk '{ print $1 }'
        tagged "$id"
    } | sort -un | while read -r pid; do
        stat="$(ps -o stat= -p "$pid" 2>/dev/null)" || continue
        case "$stat" in Z*) continue ;; esac
        comm="$(ps -o comm= -p "$pid" 2>/dev/null)" || continue
        [[ "$comm" =~ ^($IGNORE)$ ]] && continue
        echo "$pid"
    done
}

before() {
    local state="$1"
    servers >"$state"
    printf '%s-%s-%s\n' "$(date +%s)" "$$" "$RANDOM$RANDOM" >"$state.id"
    cat "$state.id"
}

after() {
    local state="$1" left waited=0
    while :; do
        left="$(leaked "$state")"
        [ -n "$left" ] || break
        if [ "$waited" -ge "$GRACE" ]; then
            echo "error: the test run left these processes running:" >&2
            # shellcheck disable=SC2086 # one pid a word
            ps -o pid=,ppid=,lstart=,args= -p "$(echo $left | tr ' ' ,)" >&2 || true
            echo "(stop them with: kill" $left")" >&2
            return 1
        fi
        sleep 1
        waited=$((waited + 1))
    done
    echo "check-leaks: no process left behind" >&2
}

# The check's own processes must not carry the tag it looks for.
if [ -n "${GITOPS_LEAK_CHECK:-}" ]; then
    exec env -u GITOPS_LEAK_CHECK bash "$0" "$@"
fi
[ $# -ge 1 ] || usage
case "$1" in
before | after)
    [ $# -eq 2 ] || usage
    "$1" "$2"
    ;;
run)
    shift
    [ $# -ge 1 ] || usage
    state="$(mktemp)"
    trap 'rm -f "$state" "$state.id"' EXIT
    before "$state" >/dev/null
    status=0
    GITOPS_LEAK_CHECK="$(cat "$state.id")" "$@" || status=$?
    leaks=0
    after "$state" || leaks=1
    if [ "$status" -ne 0 ]; then
        exit "$status"
    fi
    exit "$leaks"
    ;;
*) usage ;;
esac
