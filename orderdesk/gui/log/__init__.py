"""The live log of the running services."""
