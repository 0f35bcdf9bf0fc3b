"""The dead-letter desk: inbox, details, payload editor and republishing."""
