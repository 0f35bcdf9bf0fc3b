"""The business audit trail: its line format, the writer, and the index and search that read it."""
