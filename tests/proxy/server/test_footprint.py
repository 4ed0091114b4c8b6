"""The proxy is a lean sidecar: no torch in its process (or its speech worker) with memory and
speech on, and chromadb only when memory is on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.footprint import children, footprint, start_proxy
from devtools.tinymoshi import free_port

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}


@pytest.mark.speech
def test_memory_and_speech_on_load_no_torch(tmp_path: Path) -> None:
    args = ["--upstream", "ws://127.0.0.1:9", "--data-dir", str(tmp_path)]
    proc = start_proxy(args, ENV, tmp_path / "proxy.log", free_port())
    try:
        proxy = footprint(proc.pid)
        workers = [footprint(pid) for pid in children(proc.pid)]
    finally:
        proc.terminate()
        proc.wait(30)
    log = (tmp_path / "proxy.log").read_text()
    assert "memory open at" in log and "embedding model loaded" in log
    assert "speech worker pid" in log and workers, log
    assert "torch" not in proxy.libraries, proxy
    assert {"chromadb", "onnxruntime"} <= proxy.libraries
    assert not [w for w in workers if "torch" in w.libraries]


def test_without_memory_chromadb_is_not_loaded(tmp_path: Path) -> None:
    args = ["--upstream", "ws://127.0.0.1:9", "--data-dir", str(tmp_path), "--no-memory"]
    proc = start_proxy([*args, "--no-tap"], ENV, tmp_path / "proxy.log", free_port())
    try:
        proxy = footprint(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    assert not proxy.libraries & {"torch", "chromadb"}, proxy


def test_importing_the_proxy_imports_neither_chromadb_nor_torch() -> None:
    probe = (
        "import sys, proxy.__main__, proxy.startup, extraction.memory, proxy.actions.registry; "
        "heavy = ('chromadb', 'torch', 'sentence_transformers'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=ENV
    )
    assert done.stdout.strip() == "[]"
