"""The dead-letter desk: read, inspect, fix and republish dead letters, without Qt.

`reader` reads a dead-letter topic without touching any group's offsets, `entries` turns
a record (OrderDesk's, Spring Kafka's or Kafka Connect's) into a `DeadLetterEntry`,
`republish` sends entries back with the guards, `ledger` remembers what was replayed,
and `orderdesk.cli.dlq` is `orderdesk dlq ...`.
"""

from orderdesk.deadletters.entries import DeadLetterEntry, entry_from_record
from orderdesk.deadletters.ledger import ReplayLedger, ReplayRecord
from orderdesk.deadletters.reader import DeadLetterReader, read_entries
from orderdesk.deadletters.republish import (
    Outcome,
    ReplayRequest,
    ReplayResult,
    ReplaySummary,
    Republisher,
)

__all__ = [
    "DeadLetterEntry",
    "DeadLetterReader",
    "Outcome",
    "ReplayLedger",
    "ReplayRecord",
    "ReplayRequest",
    "ReplayResult",
    "ReplaySummary",
    "Republisher",
    "entry_from_record",
    "read_entries",
]
