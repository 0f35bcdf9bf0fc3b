"""The settings sources at their edges: files that are not UTF-8, infinite delays, odd
environment variables, and a model that reads nothing it is not given."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderdesk import cli
from orderdesk.config import ConfigError, Settings, load_settings, validate_settings


def test_config_file_that_is_not_utf8_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("kafka:\n  client_id: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(path, environ={})
    assert cli.main(["--config", str(path), "--producer"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("orderdesk: error:") and "latin1.yaml" in err
    assert len(err.splitlines()) == 1


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", float("inf"), float("nan")])
@pytest.mark.parametrize("key", ["retry_base_delay", "retry_max_delay", "dlq_flush_timeout"])
def test_infinite_or_nan_delays_are_refused(key: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"tracker.{key}"):
        validate_settings({"tracker": {key: value}})


def test_infinite_delay_from_the_environment_is_refused() -> None:
    with pytest.raises(ConfigError, match="retry_max_delay"):
        load_settings(environ={"ORDERDESK_TRACKER__RETRY_MAX_DELAY": "inf"})


def test_section_named_without_a_key_is_one_line() -> None:
    with pytest.raises(ConfigError, match="ORDERDESK_KAFKA: kafka is a section"):
        load_settings(environ={"ORDERDESK_KAFKA": "x"})


@pytest.mark.parametrize("value", ["not json", "[1, 2]"])
def test_properties_from_the_environment_must_be_a_json_object(value: str) -> None:
    with pytest.raises(ConfigError, match="expected a JSON object"):
        load_settings(environ={"ORDERDESK_KAFKA__PROPERTIES": value})


def test_environment_names_are_case_insensitive_and_reach_top_level_fields(
    tmp_path: Path,
) -> None:
    s = load_settings(environ={"orderdesk_tracker__group": "g", "ORDERDESK_LOG_DIR": str(tmp_path)})
    assert s.tracker.group == "g"
    assert s.log_dir == tmp_path


def test_the_model_alone_reads_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERDESK_TRACKER__GROUP", "from-env")
    assert Settings().tracker.group == "order-tracker-group"
    assert validate_settings({}).tracker.group == "order-tracker-group"
    assert load_settings().tracker.group == "from-env"


def test_nested_values_of_every_source_merge(tmp_path: Path) -> None:
    path = tmp_path / "o.yaml"
    path.write_text("kafka: {client_id: from-file, properties: {linger.ms: 3}}\n")
    s = load_settings(
        path,
        {"kafka.connect_timeout": 4.0},
        environ={"ORDERDESK_KAFKA__BOOTSTRAP_SERVERS": "env:1"},
    )
    assert (s.kafka.client_id, s.kafka.bootstrap_servers, s.kafka.connect_timeout) == (
        "from-file",
        "env:1",
        4.0,
    )
    assert s.kafka.properties == {"linger.ms": 3}
