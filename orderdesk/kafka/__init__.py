"""Kafka clients and cluster operations; the only place that configures confluent-kafka."""

from orderdesk.kafka.clients import (
    BrokerUnavailable,
    ClusterInfo,
    admin_client,
    consumer_config,
    describe_cluster,
    ensure_topics,
    make_consumer,
    make_producer,
    producer_config,
)
from orderdesk.kafka.errors import error_text

__all__ = [
    "BrokerUnavailable",
    "ClusterInfo",
    "admin_client",
    "consumer_config",
    "describe_cluster",
    "ensure_topics",
    "error_text",
    "make_consumer",
    "make_producer",
    "producer_config",
]
