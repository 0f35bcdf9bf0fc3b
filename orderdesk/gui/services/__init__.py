"""The producer and tracker in QThreads: start, stop by signal, stats and logs by feed."""
