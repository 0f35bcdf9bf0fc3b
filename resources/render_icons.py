"""Render orderdesk.png, orderdesk.ico and orderdesk.icns from orderdesk.svg with Qt.

Run from anywhere after editing the SVG: `python resources/render_icons.py`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent


def render(renderer: QSvgRenderer, size: int) -> QImage:
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    return image


def main() -> int:
    _app = QGuiApplication(sys.argv)
    renderer = QSvgRenderer(str(HERE / "orderdesk.svg"))
    if not renderer.isValid():
        print("orderdesk.svg is not a valid SVG", file=sys.stderr)
        return 1
    ok = render(renderer, 256).save(str(HERE / "orderdesk.png"))
    # Windows takes the .ico, macOS the .icns (PyInstaller's icon= for each platform).
    ok &= render(renderer, 256).save(str(HERE / "orderdesk.ico"))
    ok &= render(renderer, 512).save(str(HERE / "orderdesk.icns"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
