#!/usr/bin/env bash
# Container entry point (safe as PID 1): starts the upstream voice model, the proxy on the public
# port and, when configured, the executor gateway; supervises them; drains on SIGTERM/SIGINT.
#
#   VOICEOPS_UPSTREAM_MODE  personaplex | tiny | none   (default: none when VOICEOPS_UPSTREAM is
#                           set, else personaplex when a GPU is visible, else tiny)
#   VOICEOPS_PORT (8080), VOICEOPS_LISTEN (::)           the proxy's public socket
#   VOICEOPS_UPSTREAM_PORT (8998)                         the local upstream, on 127.0.0.1 only
#   VOICEOPS_PERSONAPLEX_HF_REPO (nvidia/personaplex-7b-v1), VOICEOPS_PERSONAPLEX_CPU_OFFLOAD=1,
#   VOICEOPS_PERSONAPLEX_ARGS (extra words for moshi.server), HF_TOKEN (model download)
#   VOICEOPS_READY_TIMEOUT (900 s), VOICEOPS_BACKOFF_MIN (1 s), VOICEOPS_BACKOFF_MAX (60 s),
#   VOICEOPS_STABLE_AFTER (120 s up resets the back-off), VOICEOPS_DRAIN_TIMEOUT (proxy flag,
#   default 10 s), VOICEOPS_STOP_GRACE (10 s beyond the drain before SIGKILL)
#   VOICEOPS_PYTHON (python) runs the proxy, VOICEOPS_UPSTREAM_PYTHON (same) the upstream
#   VOICEOPS_AUDIT_TO_STDOUT=1 also copies every audit record to stdout as "audit {json}", for
#   a platform log shipper (the node's disk, and audit.jsonl with it, can vanish)
#   VOICEOPS_EXECUTOR=openclaw also starts an OpenClaw gateway and node host on this machine
#   unless VOICEOPS_EXEC_GATEWAY names another host (start_executor_gateway below).
# Every other VOICEOPS_* variable is read by the proxy itself (python -m proxy --help).
set -euo pipefail
cd "$(dirname "$0")"

PY="${VOICEOPS_PYTHON:-python}"
# PersonaPlex may live in its own virtual environment (the full image does that).
UPSTREAM_PY="${VOICEOPS_UPSTREAM_PYTHON:-$PY}"
PORT="${VOICEOPS_PORT:-8080}"
export VOICEOPS_PORT="$PORT" VOICEOPS_LISTEN="${VOICEOPS_LISTEN:-::}"
UPSTREAM_PORT="${VOICEOPS_UPSTREAM_PORT:-8998}"
READY_TIMEOUT="${VOICEOPS_READY_TIMEOUT:-900}"
BACKOFF_MIN="${VOICEOPS_BACKOFF_MIN:-1}"
BACKOFF_MAX="${VOICEOPS_BACKOFF_MAX:-60}"
STABLE_AFTER="${VOICEOPS_STABLE_AFTER:-120}"
DRAIN="${VOICEOPS_DRAIN_TIMEOUT:-10}"
STOP_GRACE="${VOICEOPS_STOP_GRACE:-10}"
POLL="${VOICEOPS_SUPERVISE_INTERVAL:-0.5}"
# Nothing is fetched from a hub unless the PersonaPlex model is (HF_TOKEN); no telemetry.
export ANONYMIZED_TELEMETRY=False

proxy_pid="" upstream_pid="" gateway_pid="" audit_pid=""

log() { printf 'entrypoint %s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }

# HTTP status of GET http://127.0.0.1:PORT/PATH, or 000; bash's /dev/tcp, so no curl is needed.
http_status() {
  local reply
  # shellcheck disable=SC2016  # $1 and $2 are the inner shell's arguments, on purpose
  reply="$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
    printf "GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n" "$2" >&3; head -c 12 <&3' _ "$1" "$2" \
    2>/dev/null)" || true
  reply="${reply#HTTP/1.? }"
  printf '%s' "${reply:0:3}" | grep -E '^[0-9]{3}$' || printf '000'
}

# Running and not a zombie: inside a trap bash reaps late, and kill -0 succeeds on a zombie.
alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null || return 1
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
  stat="${stat##*) }"
  [ "${stat:0:1}" != Z ]
}

upstream_mode() {
  local mode="${VOICEOPS_UPSTREAM_MODE:-}"
  if [ -z "$mode" ]; then
    if [ -n "${VOICEOPS_UPSTREAM:-}" ]; then mode=none
    elif command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then mode=personaplex
    else mode=tiny; fi
  fi
  case "$mode" in
    personaplex|tiny|none) printf '%s' "$mode" ;;
    *) log "exit: VOICEOPS_UPSTREAM_MODE=$mode is not personaplex, tiny or none"; exit 2 ;;
  esac
}

start_upstream() {
  local args=()
  case "$MODE" in
    personaplex)
      args=(-m moshi.server --host 127.0.0.1 --port "$UPSTREAM_PORT"
            --hf-repo "${VOICEOPS_PERSONAPLEX_HF_REPO:-nvidia/personaplex-7b-v1}")
      if [ "${VOICEOPS_PERSONAPLEX_CPU_OFFLOAD:-0}" = 1 ]; then args+=(--cpu-offload); fi
      if [ -n "${VOICEOPS_PERSONAPLEX_ARGS:-}" ]; then
        local extra=()
        read -r -a extra <<< "$VOICEOPS_PERSONAPLEX_ARGS"
        args+=("${extra[@]}")
      fi ;;
    tiny) args=(-m devtools.tinymoshi --host 127.0.0.1 --port "$UPSTREAM_PORT") ;;
  esac
  "$UPSTREAM_PY" "${args[@]}" &
  upstream_pid=$!
  upstream_started=$SECONDS
  log "start upstream ($MODE) pid $upstream_pid: $UPSTREAM_PY ${args[*]}"
}

# The OpenClaw executor's gateway, started before the proxy when VOICEOPS_EXECUTOR=openclaw and
# the gateway URL is on this machine: `python -m devtools.openclaw run` starts a gateway and one
# node host (needs Node 24 + OpenClaw: ./run.sh openclaw or VOICEOPS_OPENCLAW_TOOLS) and writes
# the gateway token into the data directory, which the proxy reads when it starts; so the proxy
# waits for its ready line.  VOICEOPS_OPENCLAW_START replaces it with your own script; a gateway
# on another host (VOICEOPS_EXEC_GATEWAY=ws://gw.example:18789) is used as it is.
start_executor_gateway() {
  [ "${VOICEOPS_EXECUTOR:-local}" = openclaw ] || return 0
  if [ -n "${VOICEOPS_OPENCLAW_START:-}" ]; then
    if [ ! -x "$VOICEOPS_OPENCLAW_START" ]; then
      log "exit: VOICEOPS_OPENCLAW_START=$VOICEOPS_OPENCLAW_START is missing or not executable"
      exit 2
    fi
    "$VOICEOPS_OPENCLAW_START" &
    gateway_pid=$!
    log "start executor gateway (openclaw) pid $gateway_pid: $VOICEOPS_OPENCLAW_START"
    return 0
  fi
  local url="${VOICEOPS_EXEC_GATEWAY:-ws://127.0.0.1:18789}" hostport port
  hostport="${url#*://}"; hostport="${hostport%%/*}"; port="${hostport##*:}"
  case "${hostport%:*}" in
    127.0.0.1|localhost|"[::1]") ;;
    *) log "executor gateway at $url (not started here)"; return 0 ;;
  esac
  [[ "$port" =~ ^[0-9]+$ ]] || { log "exit: no port in VOICEOPS_EXEC_GATEWAY=$url"; exit 2; }
  local data="${VOICEOPS_DATA_DIR:-data}" ready
  ready="$(mktemp)"
  "$PY" -m devtools.openclaw run --data-dir "$data" --port "$port" \
    --node "${VOICEOPS_EXEC_NODE:-local}" ${VOICEOPS_POLICY:+--policy "$VOICEOPS_POLICY"} >"$ready" &
  gateway_pid=$!
  log "start executor gateway (openclaw) pid $gateway_pid: $PY -m devtools.openclaw run --port $port"
  local waited=0
  until grep -q '^{' "$ready"; do
    if ! alive "$gateway_pid"; then
      log "exit: the OpenClaw gateway did not start (see its lines above)"; exit 2
    fi
    if [ "$waited" -ge "$((READY_TIMEOUT * 2))" ]; then
      log "exit: the OpenClaw gateway was not ready within ${READY_TIMEOUT}s"; exit 2
    fi
    sleep 0.5; waited=$((waited + 1))
  done
  log "ready: executor gateway $(head -n 1 "$ready")"
  rm -f "$ready"
}

# Audit shipping: follow audit.jsonl (also across its creation) and print each line to stdout.
start_audit_copy() {
  [ "${VOICEOPS_AUDIT_TO_STDOUT:-0}" = 1 ] || return 0
  local file="${VOICEOPS_DATA_DIR:-data}/audit.jsonl"
  # sed ends by itself when tail is stopped (end of its input).
  tail -n +1 -F "$file" 2>/dev/null > >(sed -u 's/^/audit /') &
  audit_pid=$!
  log "start audit copy pid $audit_pid: $file to stdout"
}

start_proxy() {
  local args=(-m proxy)
  if [ "$MODE" != none ]; then args+=(--upstream "ws://127.0.0.1:$UPSTREAM_PORT"); fi
  "$PY" "${args[@]}" &
  proxy_pid=$!
  log "start proxy pid $proxy_pid on [$VOICEOPS_LISTEN]:$PORT (${args[*]})"
}

# Stop one child: SIGTERM, then SIGKILL after $2 seconds.  Logs how it ended.
stop_child() {
  local name="$1" pid="$2" within="$3" code=0 waited=0
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$pid" && [ "$waited" -lt "$((within * 10))" ]; do
    sleep 0.1; waited=$((waited + 1))
  done
  if alive "$pid"; then
    log "exit $name pid $pid: still running ${within}s after SIGTERM, killed"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || code=$?
  log "exit $name pid $pid code $code (stopped by entrypoint)"
}

shutdown() {
  local code="$1"
  trap '' TERM INT
  # The proxy goes first: it drains conversations while the upstream still answers them.
  stop_child proxy "$proxy_pid" "$(( ${DRAIN%.*} + STOP_GRACE ))"
  stop_child upstream "$upstream_pid" "$STOP_GRACE"
  stop_child "executor gateway" "$gateway_pid" "$STOP_GRACE"
  # The copy ends after the proxy, so the drain's last records are shipped too.
  stop_child "audit copy" "$audit_pid" 2
  log "exit entrypoint code $code"
  exit "$code"
}

on_signal() {
  log "received $1: draining the proxy (up to ${DRAIN}s), then stopping everything"
  shutdown 0
}

wait_ready() {
  local waited=0 status
  while [ "$waited" -lt "$READY_TIMEOUT" ]; do
    alive "$proxy_pid" || return 0  # the supervise loop reports why
    status="$(http_status "$PORT" /ready)"
    if [ "$status" = 200 ]; then log "ready: proxy /ready 200 after ${waited}s"; return 0; fi
    sleep 1 & wait $! || true
    waited=$((waited + 1))
  done
  log "not ready after ${READY_TIMEOUT}s (proxy /ready $status); supervising anyway"
}

supervise() {
  local backoff="$BACKOFF_MIN" restart_at="" code
  while true; do
    if ! alive "$proxy_pid"; then
      code=0; wait "$proxy_pid" 2>/dev/null || code=$?
      log "exit proxy pid $proxy_pid code $code (died unexpectedly): stopping the container"
      proxy_pid=""
      shutdown "$(( code == 0 ? 1 : code ))"
    fi
    if [ -n "$gateway_pid" ] && ! alive "$gateway_pid"; then
      code=0; wait "$gateway_pid" 2>/dev/null || code=$?
      log "exit executor gateway pid $gateway_pid code $code (died): stopping the container"
      gateway_pid=""
      shutdown 1
    fi
    if [ "$MODE" != none ] && [ -z "$restart_at" ] && ! alive "$upstream_pid"; then
      code=0; wait "$upstream_pid" 2>/dev/null || code=$?
      if [ $((SECONDS - upstream_started)) -ge "$STABLE_AFTER" ]; then backoff="$BACKOFF_MIN"; fi
      log "exit upstream pid $upstream_pid code $code (crashed); proxy /ready" \
        "$(http_status "$PORT" /ready); restart in ${backoff}s"
      restart_at=$((SECONDS + backoff))
      backoff=$(( backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : backoff * 2 ))
    fi
    if [ -n "$restart_at" ] && [ "$SECONDS" -ge "$restart_at" ]; then
      restart_at=""
      start_upstream
    fi
    sleep "$POLL" & wait $! || true
  done
}

trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGINT' INT
MODE="$(upstream_mode)"
upstream_started=$SECONDS
log "start entrypoint: upstream mode $MODE, public port $PORT"
if [ "$MODE" != none ]; then start_upstream; fi
start_executor_gateway
start_audit_copy
start_proxy
wait_ready
supervise
