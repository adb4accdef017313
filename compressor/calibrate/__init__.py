"""Fitting a target profile to measured op timings (``compress calibrate``)."""
