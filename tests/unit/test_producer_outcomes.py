"""The producer's delivery outcomes: acknowledged, failed (not stored) and unknown apart."""

from __future__ import annotations

from confluent_kafka import KafkaError, Message

from orderdesk.config import load_settings
from orderdesk.producer.service import ProducerResult, ProducerService


def _service() -> ProducerService:
    return ProducerService(load_settings(environ={}))


def _msg() -> Message:
    return Message(topic="orders", partition=0, value=b"{}", key=b"k")


def test_a_timed_out_delivery_is_unknown_not_failed():
    service = _service()
    service._on_delivery(None, _msg())
    service._on_delivery(KafkaError(KafkaError._MSG_TIMED_OUT), _msg())
    service._on_delivery(KafkaError(KafkaError.REQUEST_TIMED_OUT), _msg())
    service._on_delivery(KafkaError(KafkaError._TRANSPORT), _msg())
    service._on_delivery(KafkaError(KafkaError.MSG_SIZE_TOO_LARGE), _msg())
    service._on_delivery(KafkaError(KafkaError._PURGE_QUEUE), _msg())
    result = service._result(unconfirmed=0)
    assert (result.acknowledged, result.failed, result.unknown) == (1, 2, 3)


def test_a_missing_topic_holds_the_events_to_send_again():
    service = _service()
    service._on_delivery(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART), _msg())
    service._on_delivery(KafkaError(KafkaError._UNKNOWN_TOPIC), _msg())
    assert service._topic_missing and len(service._resend) == 2
    assert service._failed == 0 and service._unknown == 0


def test_the_summary_names_each_outcome():
    result = ProducerResult(
        generated=10, acknowledged=6, failed=1, unconfirmed=1, faulty=0, elapsed=1.0, unknown=2
    )
    assert "acknowledged=6 failed=1 unknown=2 unconfirmed=1" in result.summary()
    assert not result.ok
