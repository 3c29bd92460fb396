#!/usr/bin/env bash
# Makes sure a Docker Engine answers on unix:///var/run/docker.sock, for the ECR end-to-end
# tests (tests/e2e/test_ecr_docker.py) on a fresh Debian 12 machine (root, no stdin, no
# systemd, CI=true) as well as on a developer's machine.
#
#   - `docker info` already works (systemd's docker.service, Docker Desktop, an earlier run
#     of this script): nothing to do.
#   - a dockerd is already running (its pid file names a live process) but not answering
#     yet: wait for it; never start a second one.
#   - otherwise start Debian's dockerd (package docker.io, scripts/ensure-deps.sh installs it)
#     in the background, detached from this shell, logging to $WHARF_DOCKERD_LOG
#     (default /tmp/wharf-dockerd.log), and wait for `docker info`. If it exits during
#     start-up, retry with fallbacks for restricted sandboxes: --iptables=false, then also
#     --bridge=none --storage-driver=vfs.
#
# Everything is bounded by one deadline ($WHARF_DOCKER_DEADLINE seconds, default 60). The
# engine is left running afterwards (it is machine set-up, like a service); stop it with
#     kill "$(cat /var/run/docker.pid)"
set -euo pipefail

SOCKET=/var/run/docker.sock
PIDFILE=/var/run/docker.pid
LOG=${WHARF_DOCKERD_LOG:-/tmp/wharf-dockerd.log}
DEADLINE_S=${WHARF_DOCKER_DEADLINE:-60}
# Debian's client and daemon (a newer client elsewhere on PATH works too, but Debian's is
# the one CI has and the one whose `docker build` needs no buildx plugin).
DOCKER=/usr/bin/docker
DOCKERD=/usr/sbin/dockerd
export DOCKER_HOST=unix://$SOCKET

log() { echo "[ensure-docker] $*"; }
die() {
    echo "[ensure-docker] ERROR: $*" >&2
    exit 1
}

[[ -x $DOCKER ]] || DOCKER=$(command -v docker) || die "no docker client: run scripts/ensure-deps.sh"

engine_answers() { timeout 10 "$DOCKER" info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

if engine_answers; then
    log "Docker Engine $("$DOCKER" info --format '{{.ServerVersion}}' 2>/dev/null) answers on $SOCKET"
    exit 0
fi

[[ $(id -u) -eq 0 ]] || die "the Docker Engine does not answer on $SOCKET and starting dockerd needs root (run as root, or start it yourself: sudo $0)"
[[ -x $DOCKERD ]] || die "$DOCKERD is missing: run scripts/ensure-deps.sh (Debian package docker.io)"

end=$((SECONDS + DEADLINE_S))

# One starter at a time (two test runs calling this together): the second waits for the
# first, then finds the engine answering.
exec 9>/var/lock/wharf-ensure-docker.lock
flock -w "$DEADLINE_S" 9 || die "another ensure-docker.sh held the lock for ${DEADLINE_S}s"
if engine_answers; then
    log "Docker Engine answers on $SOCKET (started by a concurrent run)"
    exit 0
fi

# Waits until the engine answers (0), the given dockerd pid exits (1) or the deadline (2).
wait_engine() {
    local pid=$1
    while ((SECONDS < end)); do
        if engine_answers; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.25
    done
    return 2
}

running_dockerd_pid() {
    local pid
    [[ -f $PIDFILE ]] || return 1
    pid=$(tr -dc '0-9' <"$PIDFILE")
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null &&
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == dockerd ]] && echo "$pid"
}

if pid=$(running_dockerd_pid); then
    log "dockerd (pid $pid) is running but not answering yet; waiting up to ${DEADLINE_S}s"
    if wait_engine "$pid"; then
        log "Docker Engine answers on $SOCKET"
        exit 0
    fi
    die "dockerd (pid $pid) did not answer within ${DEADLINE_S}s; see its log (${LOG} if this script started it)"
fi

if [[ -f $PIDFILE ]]; then
    log "removing stale $PIDFILE (no live dockerd)"
    rm -f "$PIDFILE"
fi

attempts=(
    ""
    "--iptables=false"
    "--iptables=false --bridge=none --storage-driver=vfs"
)
for extra in "${attempts[@]}"; do
    ((SECONDS < end)) || break
    # shellcheck disable=SC2206
    args=(--host "unix://$SOCKET" --pidfile "$PIDFILE" $extra)
    log "starting: $DOCKERD ${args[*]} (log: $LOG)"
    echo "=== $(date -u +%FT%TZ) $DOCKERD ${args[*]}" >>"$LOG"
    # setsid + nohup: the daemon outlives this script and the test run that called it.
    setsid nohup "$DOCKERD" "${args[@]}" </dev/null >>"$LOG" 2>&1 9>&- &
    pid=$!
    status=0
    wait_engine "$pid" || status=$?
    case $status in
    0)
        log "Docker Engine $("$DOCKER" info --format '{{.ServerVersion}}' 2>/dev/null) answers on $SOCKET (dockerd pid $pid${extra:+, flags: $extra})"
        exit 0
        ;;
    1)
        log "dockerd${extra:+ ($extra)} exited during start-up; last lines of $LOG:"
        tail -n 5 "$LOG" | sed 's/^/    /'
        rm -f "$PIDFILE"
        ;;
    2)
        kill "$pid" 2>/dev/null || true
        die "dockerd (pid $pid) did not answer within ${DEADLINE_S}s; last lines of $LOG:
$(tail -n 20 "$LOG")"
        ;;
    esac
done

die "could not start a Docker Engine within ${DEADLINE_S}s; last lines of $LOG:
$(tail -n 20 "$LOG")"
