"""A Kafka error reads as librdkafka's sentence, never as `KafkaError{code=...}`."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException

from orderdesk.kafka import error_text

SENTENCE = "Failed to get metadata: Local: Broker transport failure"


def test_kafka_exception_is_its_errors_sentence() -> None:
    exc = KafkaException(KafkaError(KafkaError._TRANSPORT, SENTENCE))
    assert "KafkaError{" in str(exc)  # what a plain str() would have shown
    assert error_text(exc) == SENTENCE


def test_kafka_error_and_other_exceptions() -> None:
    assert error_text(KafkaError(KafkaError._TRANSPORT, SENTENCE)) == SENTENCE
    assert error_text(KafkaException("plain text")) == "plain text"
    assert error_text(ValueError("bad value")) == "bad value"
