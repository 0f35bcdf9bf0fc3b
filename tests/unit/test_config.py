"""Settings precedence (defaults < YAML < environment < flags) and bad-config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderdesk import cli
from orderdesk.config import (
    ConfigError,
    Settings,
    load_settings,
    read_yaml,
    validate_settings,
    write_yaml,
)

EXAMPLE = Path(__file__).parents[2] / "resources" / "orderdesk.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orderdesk.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_are_the_specs() -> None:
    s = load_settings(environ={})
    assert s.kafka.bootstrap_servers == "localhost:9092"
    assert (s.topics.orders, s.topics.dlq) == ("orders", "orders-dlq")
    assert s.tracker.group == "order-tracker-group"
    assert s.tracker.max_retries == 3
    assert (s.tracker.retry_base_delay, s.tracker.retry_max_delay) == (1.0, 30.0)
    assert s.tracker.dlq_flush_timeout == 5.0
    assert s.producer.flush_timeout == 15.0
    assert s.producer.rate == 0.5
    assert (s.producer.tax_rate, s.producer.shipping_fee, s.producer.currency) == (0.2, 2.5, "EUR")
    assert s.producer.default_payment_method == "credit_card"
    assert s.producer.default_warehouse == "PARIS-01"
    assert s.tracker.metrics_interval == 30.0


def test_each_source_overrides_the_one_before(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "kafka: {bootstrap_servers: yaml:1}\n"
        "topics: {orders: from-yaml, dlq: dlq-yaml}\n"
        "tracker: {group: g-yaml, max_retries: 4}\n",
    )
    env = {"ORDERDESK_TOPICS__ORDERS": "from-env", "ORDERDESK_TRACKER__GROUP": "g-env"}
    s = load_settings(path, {"tracker.group": "g-flag", "producer.rate": None}, environ=env)
    assert s.kafka.bootstrap_servers == "yaml:1"  # only the file sets it
    assert s.topics.dlq == "dlq-yaml"
    assert s.topics.orders == "from-env"  # env beats file
    assert s.tracker.group == "g-flag"  # flag beats env
    assert s.tracker.max_retries == 4  # file beats default
    assert s.producer.rate == 0.5  # a flag left unset changes nothing


def test_cli_flags_reach_the_settings(tmp_path: Path) -> None:
    args = cli.build_parser().parse_args(
        ["--bootstrap-servers", "b:9", "--topic", "t", "--max-retries", "5", "-X", "linger.ms=7"]
    )
    s = cli.settings_from_args(args)
    assert s.kafka.bootstrap_servers == "b:9"
    assert s.topics.orders == "t"
    assert s.tracker.max_retries == 5
    assert s.kafka.as_librdkafka_dict()["linger.ms"] == "7"


def test_librdkafka_properties_pass_through_from_every_source(tmp_path: Path) -> None:
    path = write(tmp_path, "kafka:\n  properties:\n    socket.keepalive.enable: true\n")
    env = {"ORDERDESK_KAFKA__PROPERTIES": '{"client.rack": "r1"}'}
    s = load_settings(path, environ=env)
    conf = s.kafka.as_librdkafka_dict()
    assert conf["client.rack"] == "r1"


def test_security_settings_map_to_librdkafka_names() -> None:
    s = validate_settings(
        {
            "kafka": {
                "security_protocol": "SASL_SSL",
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_username": "app",
                "sasl_password": "hunter2",
                "ssl_ca_location": "/etc/ca.pem",
            }
        }
    )
    conf = s.kafka.as_librdkafka_dict()
    assert conf["security.protocol"] == "SASL_SSL"
    assert conf["sasl.password"] == "hunter2"
    assert conf["ssl.ca.location"] == "/etc/ca.pem"
    assert s.kafka.redacted()["sasl.password"] == "***"
    assert "hunter2" not in repr(s)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"tracker": {"max_retries": "many"}}, "tracker.max_retries"),
        ({"tracker": {"max_retries": 0}}, "tracker.max_retries"),
        ({"producer": {"faulty_ratio": 1.5}}, "producer.faulty_ratio"),
        ({"producer": {"rate": -1}}, "producer.rate"),
        ({"topics": {"orders": "bad topic!"}}, "topics.orders"),
        ({"kafka": {"security_protocol": "TLS"}}, "kafka.security_protocol"),
        ({"tracker": {"grup": "x"}}, "tracker.grup"),
        ({"bootstrap": "x"}, "bootstrap"),
    ],
)
def test_bad_values_and_unknown_keys_name_the_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError) as info:
        validate_settings(data)
    message = str(info.value)
    assert f"'{key}'" in message
    assert "\n" not in message


def test_same_topic_for_orders_and_dead_letters_is_refused() -> None:
    with pytest.raises(ConfigError, match="must differ"):
        validate_settings({"topics": {"orders": "x", "dlq": "x"}})


def test_secrets_never_appear_in_errors() -> None:
    with pytest.raises(ConfigError) as info:
        validate_settings({"kafka": {"sasl_password": ["hunter2"]}})
    assert "hunter2" not in str(info.value)
    with pytest.raises(ConfigError) as info:
        validate_settings({"kafka": {"properties": {"sasl.password": ["hunter2"]}}})
    assert "hunter2" not in str(info.value)


def test_unknown_environment_key_in_a_section_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"tracker\.max_retires"):
        load_settings(environ={"ORDERDESK_TRACKER__MAX_RETIRES": "3"})


def test_unrelated_environment_variables_are_left_alone() -> None:
    load_settings(environ={"ORDERDESK_TEST_BOOTSTRAP": "x:1", "ORDERDESK_KAFKA_CACHE": "/tmp"})


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "kafka:\n  bootstrap_servers: [unclosed\n")
    with pytest.raises(ConfigError, match=r"orderdesk.yaml line \d"):
        read_yaml(path)


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "nope.yaml", environ={})


def test_cli_exits_2_with_one_line_on_bad_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "tracker:\n  max_retries: lots\n")
    assert cli.main(["--config", str(path), "--producer"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("orderdesk: error:") and "tracker.max_retries" in err
    assert len(err.splitlines()) == 1


def test_saved_yaml_loads_back_to_the_same_settings(tmp_path: Path) -> None:
    s = validate_settings({"kafka": {"sasl_password": "pw"}, "producer": {"rate": 12.0}})
    path = tmp_path / "saved.yaml"
    write_yaml(s, path)
    assert load_settings(path, environ={}) == s


def test_example_file_lists_every_key_and_loads() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    uncommented = "\n".join(line.replace("# ", "", 1) for line in text.splitlines())
    for section, model in Settings.model_fields.items():
        assert f"{section}:" in uncommented
        annotation = model.annotation
        if hasattr(annotation, "model_fields"):
            for key in annotation.model_fields:
                assert f"{key}:" in uncommented, f"{section}.{key} missing from the example"
    load_settings(EXAMPLE, environ={})
