"""The simulated downstream step of order processing: reserving stock."""

from __future__ import annotations

import random
from collections.abc import Callable

from orderdesk.domain import FailureReason, Order, ProcessingFailure, TransientProcessingError

Downstream = Callable[[Order], None]


class StockReservation:
    """The simulated downstream step: reserving stock fails transiently now and then."""

    def __init__(self, failure_rate: float, seed: int | None = None) -> None:
        self.failure_rate = failure_rate
        self._random = random.Random(seed).random

    def __call__(self, order: Order) -> None:
        if self.failure_rate <= 0:
            return
        draw = self._random()
        if draw < self.failure_rate:
            # A quarter of the failures are time-outs, so both retryable reasons show up.
            if draw < self.failure_rate / 4:
                raise ProcessingFailure(
                    f"stock reservation for order {order.order_id} timed out",
                    FailureReason.TIMEOUT_ERROR,
                )
            raise TransientProcessingError(
                f"stock reservation for order {order.order_id} failed: warehouse busy"
            )
