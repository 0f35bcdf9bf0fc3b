"""Settings dialog: edits validate through the settings model; saving writes YAML."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox

from orderdesk.config import Settings, load_settings
from orderdesk.gui.app import merge_last_settings
from orderdesk.gui.settings.dialog import SettingsDialog


def make(qtbot, settings: Settings | None = None) -> SettingsDialog:
    dialog = SettingsDialog(settings or Settings(log_dir="/tmp/orderdesk-logs"))
    qtbot.addWidget(dialog)
    return dialog


def test_fields_start_from_the_settings(qtbot) -> None:
    settings = Settings(
        kafka={"bootstrap_servers": "kafka:9092"},
        producer={"rate": 7, "faulty_ratio": 0.25},
        tracker={"group": "g1", "max_retries": 4},
        log_dir="/tmp/x",
    )
    dialog = make(qtbot, settings)
    assert dialog.bootstrap.text() == "kafka:9092"
    assert dialog.group.text() == "g1"
    assert dialog.rate.value() == 7
    assert dialog.max_retries.value() == 4
    assert dialog.settings() == settings


def test_an_invalid_value_is_shown_inline_and_blocks_ok(qtbot) -> None:
    dialog = make(qtbot)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.dlq_topic.setText(dialog.orders_topic.text())
    assert dialog.settings() is None
    assert "must differ" in dialog.error_label.text()
    assert not ok.isEnabled()
    dialog.dlq_topic.setText("orders-dead")
    assert dialog.settings() is not None
    assert ok.isEnabled() and dialog.error_label.text() == ""
    dialog.orders_topic.setText("bad topic!")
    assert "topics.orders" in dialog.error_label.text()
    dialog.orders_topic.setText("orders")
    dialog.max_retries.setValue(0)
    assert "tracker.max_retries" in dialog.error_label.text()


def test_edits_come_back_as_settings_and_save_to_yaml(qtbot, tmp_path: Path) -> None:
    dialog = make(qtbot)
    dialog.bootstrap.setText("broker-1:9092,broker-2:9092")
    dialog.rate.setValue(0)  # as fast as possible
    dialog.transient_rate.setValue(0.1)
    dialog.log_dir.setText(str(tmp_path / "logs"))
    result = dialog.settings()
    assert result is not None
    assert result.kafka.bootstrap_servers == "broker-1:9092,broker-2:9092"
    assert result.producer.rate == 0
    assert result.tracker.transient_failure_rate == 0.1
    path = tmp_path / "conf" / "orderdesk.yaml"
    assert dialog.save_to(path)
    assert load_settings(path, environ={}) == result


def test_last_settings_fill_only_what_was_left_at_default() -> None:
    stored = '{"kafka.bootstrap_servers": "saved:9092", "producer.rate": 9.0}'
    merged = merge_last_settings(Settings(producer={"rate": 3}), stored)
    assert merged.kafka.bootstrap_servers == "saved:9092"
    assert merged.producer.rate == 3  # given explicitly: it wins
    assert merge_last_settings(Settings(), "not json") == Settings()
    assert merge_last_settings(Settings(), '{"topics.orders": "bad topic!"}') == Settings()


def test_the_right_hand_fields_start_on_one_line(qtbot) -> None:
    dialog = SettingsDialog(load_settings(environ={}))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    fields = (dialog.orders_topic, dialog.rate, dialog.max_retries, dialog.log_dir)
    lefts = {f.mapTo(dialog, f.rect().topLeft()).x() for f in fields}
    assert len(lefts) == 1, lefts
