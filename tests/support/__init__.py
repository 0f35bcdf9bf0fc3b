"""Helpers shared by the unit, integration and GUI tests."""
