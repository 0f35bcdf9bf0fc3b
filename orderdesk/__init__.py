"""OrderDesk: event-driven order processing on Apache Kafka, on the desktop."""

__version__ = "0.1.0"
