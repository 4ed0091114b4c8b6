"""The source tree stays readable: no module over 400 lines, no class over 250, few loose
modules beside the proxy's stage packages."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("proxy", "extraction", "guard", "fleet", "client", "devtools", "voiceops")
MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 250
#: ``proxy/`` beside its stage packages and ``config/``: the package marker, the entry point,
#: start-up and the security settings.
PROXY_LOOSE_MODULES = {"__init__.py", "__main__.py", "startup.py", "security.py"}


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_class_sizes(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines; split it by concern"
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ClassDef):
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            assert size <= MAX_CLASS_LINES, f"class {node.name} has {size} lines"


def test_proxy_holds_only_a_handful_of_loose_modules() -> None:
    loose = {p.name for p in (ROOT / "proxy").glob("*.py")}
    assert loose <= PROXY_LOOSE_MODULES, sorted(loose - PROXY_LOOSE_MODULES)
