"""The command line's edges: bad librdkafka properties, secrets in flags, no silent in-memory
broker, an unreachable cluster for `dlq`, and what `--help` lists."""

from __future__ import annotations

import pytest

from orderdesk import cli
from orderdesk.cli import args as cli_args
from orderdesk.cli.dlq import main as dlq_main
from orderdesk.config import ConfigError, load_settings
from orderdesk.kafka import embedded
from orderdesk.kafka.clients import check_client_config

UNREACHABLE = "127.0.0.1:1"  # nothing listens on port 1: connections are refused at once


@pytest.mark.parametrize("prop", ["no.such.prop=1", "acks=banana"])
def test_bad_librdkafka_property_is_one_line_and_exit_2(
    prop: str, capfd: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--producer", "--bootstrap-servers", UNREACHABLE, "-X", prop]) == 2
    assert dlq_main(["list", "--bootstrap-servers", UNREACHABLE, "-X", prop]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 2, err
    assert err[0].startswith("orderdesk: error: Kafka producer configuration:")
    assert err[1].startswith("orderdesk dlq: error: Kafka producer configuration:")
    assert "KafkaError{" not in "".join(err)


def test_consumer_only_property_refused_by_the_consumer_is_named() -> None:
    settings = load_settings(
        overrides={"kafka.consumer_properties": {"fetch.wait.max.ms": "soon"}}, environ={}
    )
    with pytest.raises(ConfigError, match="Kafka consumer configuration"):
        check_client_config(settings.kafka)
    check_client_config(load_settings(environ={}).kafka)  # the defaults pass


def test_secret_on_the_command_line_is_warned_about_without_showing_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parsed = cli.build_parser().parse_args(
        ["-X", "sasl.password=hunter2", "-X", "sasl.oauthbearer.client.secret=s3", "-X", "a=b"]
    )
    settings = cli_args.settings_from_args(parsed)
    assert settings.kafka.as_librdkafka_dict()["sasl.password"] == "hunter2"
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert "sasl.password" in lines[0] and "ORDERDESK_KAFKA__SASL_PASSWORD" in lines[0]
    assert "kafka.properties" in lines[1]
    assert "hunter2" not in err and "s3" not in err


def test_headless_service_without_a_broker_fails_instead_of_going_in_memory(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ORDERDESK_KAFKA__BOOTSTRAP_SERVERS", raising=False)
    monkeypatch.setattr(embedded, "answers", lambda *a, **k: False)

    def no_embedded(*args: object, **kwargs: object) -> None:
        raise AssertionError("started an in-memory broker on its own")

    monkeypatch.setattr(embedded, "start_embedded", no_embedded)
    assert cli.main(["--producer", "--count", "1"]) == 1
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no Kafka broker" in err[0] and "--embedded" in err[0]


def test_dlq_against_an_unreachable_cluster_is_one_sentence(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ORDERDESK_KAFKA__CONNECT_TIMEOUT", "1.5")
    assert dlq_main(["list", "--bootstrap-servers", UNREACHABLE]) == 1
    out, err = capfd.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("orderdesk dlq: error: no answer from Kafka at 127.0.0.1:1")
    assert "KafkaError{" not in err and "%3|" not in err
    assert out == ""


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "dlq {list,show,republish}" in out
    assert "status" in out
