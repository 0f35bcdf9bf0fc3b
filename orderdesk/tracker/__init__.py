"""The tracker: consume, validate, retry, dead-letter, audit and commit, at least once."""
