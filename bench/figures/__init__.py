"""One module per figure of bench/run.py; each has `figures(settings, plan)`."""
