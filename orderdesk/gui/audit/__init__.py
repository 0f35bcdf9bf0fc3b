"""The audit trail browser: a table over an indexed `tracker.events`, filters and details."""
