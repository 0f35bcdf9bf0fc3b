"""Watching a pipeline from outside: its cluster view (rates, lag, members) and metrics."""

from orderdesk.monitor.cluster import (
    ClusterReader,
    ClusterSample,
    Member,
    PipelineSeries,
    PipelineStatus,
)
from orderdesk.monitor.series import RingBuffer

__all__ = [
    "ClusterReader",
    "ClusterSample",
    "Member",
    "PipelineSeries",
    "PipelineStatus",
    "RingBuffer",
]
