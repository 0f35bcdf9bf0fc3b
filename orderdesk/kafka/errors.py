"""Kafka errors as text a person reads: the one place that unwraps a KafkaException."""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException


def error_text(error: KafkaError | BaseException) -> str:
    """librdkafka's own sentence for a Kafka error (`Local: Broker transport failure`).

    Takes a `KafkaError`, a `KafkaException` (which wraps one) or any other exception;
    never returns the `KafkaError{code=...,val=...,str="..."}` form that `str()` gives.
    """
    if isinstance(error, KafkaException) and error.args:
        inner = error.args[0]
        if isinstance(inner, KafkaError):
            error = inner
    if isinstance(error, KafkaError):
        return error.str()
    return str(error)
