"""The producer: realistic, self-contained order events, every delivery confirmed."""
