"""What every service shares: run/stop, stats and log plumbing, and the JSON Lines files."""
