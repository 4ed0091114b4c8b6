#!/usr/bin/env bash
# One entry point for people and CI.  Every command first makes sure the environment exists
# (idempotent: a second run installs nothing), then does its job.
#   ./run.sh demo   install, build the tiny model, start upstream + proxy, show it working
#   ./run.sh test   install, then run the test suite
#   ./run.sh lint   install, then ruff + mypy --strict
#   ./run.sh bench  install, then run the benchmarks under bench/
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VOICEOPS_VENV:-.venv}"
PY="$VENV/bin/python"
STAMP="$VENV/.installed"

# Everything runs offline: models ship inside packages, nothing is fetched from a hub at run
# time, and ChromaDB's telemetry stays off.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False

say() { printf '\033[1m[voiceops]\033[0m %s\n' "$*" >&2; }

install_system() {
  local missing=()
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)
  command -v sox >/dev/null || missing+=(sox)
  # The browser test logs in and talks through the proxy in headless Chromium.
  command -v chromium >/dev/null || missing+=(chromium)
  if ((${#missing[@]})); then
    if [ "$(id -u)" != 0 ]; then
      say "please install: ${missing[*]} (needs root); the speech tests and demo use them"; return
    fi
    say "installing system packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

install_python() {
  # Reinstall only when the dependency list changed since the last successful install.
  local want; want="$(sha256sum setup.cfg pyproject.toml | sha256sum | cut -c1-16)"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then return; fi
  if [ ! -x "$PY" ]; then
    say "creating virtual environment in $VENV"
    python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
  fi
  say "installing Python packages (first time: a few minutes; torch is the CPU build)"
  "$PY" -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel 2>&1 | grep -v '^WARNING: Location' || true
  "$PY" -m pip install -q --disable-pip-version-check -e '.[upstream,dev]' 2>&1 | grep -v '^WARNING: Location' || true
  "$PY" -m pip install -q --disable-pip-version-check --no-deps 'moshi==0.2.13' 2>&1 | grep -v '^WARNING: Location' || true
  "$PY" -c 'import aiohttp, sphn, moshi, torch, pocketsphinx, chromadb, pytest' \
    || { say "installation incomplete, see the pip messages above"; exit 1; }
  echo "$want" > "$STAMP"
  say "Python packages ready"
}

cmd="${1:-help}"; shift || true
case "$cmd" in
  demo)  install_system; install_python; exec "$PY" -m devtools.demo "$@" ;;
  test)  install_system; install_python; exec "$PY" -m pytest -q "$@" ;;
  lint)  install_python; "$PY" -m ruff check . && "$PY" -m ruff format --check . && exec "$PY" -m mypy . ;;
  bench) install_system; install_python
         # The benches import the test helpers (espeak voices) from the repository root.
         for b in bench/*.py; do say "running $b"; PYTHONPATH=. "$PY" "$b" "$@"; done ;;
  *) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
