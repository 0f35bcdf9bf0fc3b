"""The producer service at rate 0 against a bare confluent-kafka loop producing the same
pre-made payloads with the same client settings (bench/producer_baseline.py)."""

from __future__ import annotations

import statistics

import producer_baseline
from confluent_kafka.admin import AdminClient
from harness import SEED, Figure, Plan, alternate, describe, rate_and_cpu

from orderdesk.config import Settings
from orderdesk.producer.generator import OrderGenerator


def figures(settings: Settings, plan: Plan) -> list[Figure]:
    admin = AdminClient({"bootstrap.servers": settings.kafka.bootstrap_servers})
    gen = OrderGenerator(settings.producer, SEED)
    events = [gen.next_event() for _ in range(plan.producer_count)]
    fresh = producer_baseline.fresh_topic
    producer_baseline.bare_loop(settings, fresh(admin, settings, "warmup"), events[::4])
    runs = alternate(
        plan.producer_rounds,
        {
            "bare": lambda: producer_baseline.bare_loop(
                settings, fresh(admin, settings, "bare"), events
            ),
            "service": lambda: producer_baseline.service_run(
                settings, fresh(admin, settings, "svc"), plan.producer_count
            )[0],
        },
        lambda _, r: (
            f"producer bare {describe(r['bare'][-1])}, service {describe(r['service'][-1])}"
        ),
    )
    size = round(statistics.mean(len(e.value) for e in events))
    return rate_and_cpu(
        "producer (rate 0)",
        runs["service"],
        runs["bare"],
        rate_target=0.8,
        cpu_target=0.85,
        details={"payload_bytes_mean": size, "count": plan.producer_count},
        value_name="service",
        baseline_name="bare",
    )
