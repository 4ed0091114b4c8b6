"""The whole product for end-to-end tests: the proxy with its full pipeline in front of the tiny
moshi upstream, and where to look at what it did.

``systemctl`` is a stand-in script placed first on the guard's trusted PATH, so a "restart nginx"
that is confirmed really runs — and only writes a line to a file.
"""

from __future__ import annotations

import contextlib
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

from devtools.tinymoshi import TinyMoshiServer
from proxy.actions.audit import AuditLog
from proxy.config import Config
from proxy.startup import build_services
from tests.proxy.conftest import RunningProxy, running_proxy
from voiceops.records.audit import AuditRecord


@dataclass
class Product:
    """A running proxy with the full pipeline, and where to look at what it did."""

    proxy: RunningProxy
    audit: Path
    systemctl_log: Path

    def audit_records(self) -> list[AuditRecord]:
        """What the audit log holds so far, read back as its typed records."""
        return [line.record for line in AuditLog(self.audit).read()]

    def restarts(self) -> list[str]:
        return self.systemctl_log.read_text().splitlines() if self.systemctl_log.exists() else []


@contextlib.asynccontextmanager
async def running_product(
    upstream: TinyMoshiServer, tmp_path: Path, **overrides: object
) -> AsyncIterator[Product]:
    """Serve the product (defaults, loopback, no memory; ``overrides`` replace config fields)
    until the block ends."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    systemctl_log = tmp_path / "systemctl.log"
    stand_in = bin_dir / "systemctl"
    stand_in.write_text(f'#!/bin/sh\necho "$@" >> {systemctl_log}\necho "stand-in systemctl $*"\n')
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    config = Config(
        listen="127.0.0.1",
        upstreams=(upstream.url,),
        data_dir=tmp_path / "data",
        trusted_path=f"{bin_dir}:/usr/local/bin:/usr/bin:/bin",
        memory=False,
    )
    config = replace(config, **overrides)  # type: ignore[arg-type]
    async with running_proxy(config, await build_services(config)) as proxy:
        yield Product(proxy, config.data_dir / "audit.jsonl", systemctl_log)
