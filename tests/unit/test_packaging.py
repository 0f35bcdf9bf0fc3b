"""The package as shipped: every subpackage listed, and the core free of Qt."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_every_subpackage_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "orderdesk").rglob("__init__.py")
    }
    assert found - listed == set()


def test_core_imports_without_qt() -> None:
    # A meta-path hook makes any import of Qt fail, then the whole core is imported.
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'pyqtgraph'):
            raise ImportError('Qt is blocked: ' + name)
sys.meta_path.insert(0, Block())
import pkgutil, importlib, orderdesk
for m in pkgutil.walk_packages(orderdesk.__path__, 'orderdesk.'):
    if m.name.startswith('orderdesk.gui') or m.name == 'orderdesk.__main__':
        continue
    importlib.import_module(m.name)
print('ok')
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
