"""The dashboard: live counters, health badges and plots of the running services."""
