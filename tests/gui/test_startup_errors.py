"""A config error in GUI mode is shown in a message box too (and still exits 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from orderdesk import cli


def test_a_config_error_opens_a_message_box(
    qapp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown: list[str] = []

    def record(box: QMessageBox) -> int:
        shown.append(box.text())
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "exec", record)
    monkeypatch.setattr("orderdesk.cli.xcb.xcb_problem", lambda: None)
    path = tmp_path / "orderdesk.yaml"
    path.write_text("tracker:\n  max_retires: 5\n", encoding="utf-8")
    assert cli.main(["--config", str(path)]) == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("orderdesk: error:") and "max_retires" in line
    assert shown == [line]


def test_headless_config_errors_stay_on_stderr(
    qapp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "exec", lambda _box: pytest.fail("no box for headless"))
    path = tmp_path / "orderdesk.yaml"
    path.write_text("tracker:\n  max_retires: 5\n", encoding="utf-8")
    assert cli.main(["--config", str(path), "--producer"]) == 2
