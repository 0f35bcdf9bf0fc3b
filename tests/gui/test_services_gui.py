"""The desktop app against the real broker: run both services, watch them, close while busy."""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from orderdesk.config import Settings, load_settings
from orderdesk.gui.main_window import MainWindow
from orderdesk.tracker.service import TrackerService

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

TIMEOUT_MS = 60_000
HANDLED = ("order.validated", "order.dead_lettered")


def gui_settings(bootstrap: str, topic: str, dlq: str, log_dir: Path, rate: float) -> Settings:
    return load_settings(
        overrides={
            "kafka.bootstrap_servers": bootstrap,
            "topics.orders": topic,
            "topics.dlq": dlq,
            "tracker.group": f"gui-{uuid.uuid4().hex[:8]}",
            "tracker.retry_base_delay": 0.05,
            "tracker.retry_max_delay": 0.2,
            "tracker.transient_failure_rate": 0.02,
            "producer.rate": rate,
            "producer.faulty_ratio": 0.05,
            "log_dir": str(log_dir),
        },
        environ={},
    )


def count(window: MainWindow, key: str) -> int:
    text = window.dashboard.counters[key].text().replace(",", "")
    return int(text) if text.isdigit() else 0


def curve_max(window: MainWindow, name: str) -> float:
    _x, y = window.dashboard.curves[name].getData()
    return float(y.max()) if y is not None and len(y) else 0.0


def open_window(qtbot, settings: Settings, qsettings) -> MainWindow:
    window = MainWindow(settings, None, qsettings)
    qtbot.addWidget(window)
    window.resize(1100, 700)
    window.show()
    qtbot.waitExposed(window)
    return window


def close_and_wait(qtbot, window: MainWindow) -> None:
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)


def watermarks(bootstrap: str, topic: str, group: str) -> dict[int, tuple[int, int | None]]:
    """Per partition: (high watermark, committed offset of `group` or None)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts = [TopicPartition(topic, p) for p in meta.partitions]
        committed = {tp.partition: tp.offset for tp in consumer.committed(parts, timeout=10)}
        result = {}
        for tp in parts:
            _low, high = consumer.get_watermark_offsets(tp, timeout=10)
            offset = committed[tp.partition]
            result[tp.partition] = (high, offset if offset >= 0 else None)
        return result
    finally:
        consumer.close()


def handled_offsets(log_dir: Path, topic: str) -> set[tuple[int, int]]:
    handled = set()
    for path in log_dir.glob("tracker.events*"):  # rotated files too
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                entry = json.loads(line)
                if entry["event_type"] in HANDLED and entry["kafka_topic"] == topic:
                    handled.add((entry["kafka_partition"], entry["kafka_offset"]))
    return handled


def test_start_watch_and_stop_both_services(
    qtbot, kafka_bootstrap, topic_factory, tmp_path, qsettings
) -> None:
    topic, dlq = topic_factory(3, prefix="gui-orders"), topic_factory(1, prefix="gui-dlq")
    settings = gui_settings(kafka_bootstrap, topic, dlq, tmp_path / "logs", rate=200)
    window = open_window(qtbot, settings, qsettings)
    qtbot.waitUntil(lambda: window.connection.connected is True, timeout=TIMEOUT_MS)
    assert window.connection.cluster_id and window.connection.cluster_id in window.connection.text()

    window.start_all_action.trigger()
    qtbot.waitUntil(
        lambda: count(window, "acknowledged") > 100 and count(window, "valid") > 50,
        timeout=TIMEOUT_MS,
    )
    qtbot.waitUntil(
        lambda: curve_max(window, "produced") > 0 and curve_max(window, "consumed") > 0,
        timeout=TIMEOUT_MS,
    )
    assert window.dashboard.badges["throughput"].health is not None

    window.stop_producer_action.trigger()
    qtbot.waitUntil(lambda: not window.producer.is_active, timeout=TIMEOUT_MS)
    acknowledged = window.producer.last_result.acknowledged
    assert count(window, "acknowledged") == acknowledged
    # Let the tracker catch up with everything the producer sent, then stop it.
    qtbot.waitUntil(
        lambda: count(window, "valid") + count(window, "dead_lettered") >= acknowledged,
        timeout=TIMEOUT_MS,
    )
    window.stop_tracker_action.trigger()
    qtbot.waitUntil(lambda: not window.tracker.is_active, timeout=TIMEOUT_MS)
    assert window.tracker.last_error is None and window.producer.last_error is None
    close_and_wait(qtbot, window)
    assert len(handled_offsets(settings.log_dir, topic)) >= acknowledged


def test_closing_while_both_run_loses_nothing(
    qtbot, kafka_bootstrap, topic_factory, tmp_path, qsettings
) -> None:
    topic, dlq = topic_factory(3, prefix="gui-close"), topic_factory(1, prefix="gui-close-dlq")
    settings = gui_settings(kafka_bootstrap, topic, dlq, tmp_path / "logs", rate=1000)
    window = open_window(qtbot, settings, qsettings)
    window.start_all_action.trigger()
    qtbot.waitUntil(
        lambda: count(window, "acknowledged") > 500 and count(window, "received") > 200,
        timeout=TIMEOUT_MS,
    )
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert window.closing
    assert "Stopping" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)
    assert not window.producer.is_active and not window.tracker.is_active

    produced = window.producer.last_result
    assert produced.error is None and produced.unconfirmed == 0
    marks = watermarks(kafka_bootstrap, topic, settings.tracker.group)
    # Every acknowledged order is on the topic, and nothing else is.
    assert sum(high for high, _ in marks.values()) == produced.acknowledged
    # Committed offsets never run ahead of what the audit trail shows as handled.
    handled = handled_offsets(settings.log_dir, topic)
    for partition, (high, committed) in marks.items():
        if committed is not None:
            assert committed <= high
            assert all((partition, o) in handled for o in range(committed))

    # At-least-once: a new tracker in the same group handles everything left over.
    tracker = TrackerService(settings)
    tracker.drain()
    runner = threading.Thread(target=tracker.run, name="drain-tracker")
    runner.start()
    runner.join(TIMEOUT_MS / 1000)
    if runner.is_alive():
        tracker.stop()
        runner.join()
        pytest.fail("the leftover orders were not drained in time")
    handled = handled_offsets(settings.log_dir, topic)
    for partition, (high, _committed) in marks.items():
        missing = [o for o in range(high) if (partition, o) not in handled]
        assert not missing, f"partition {partition}: offsets never handled: {missing[:10]}"
