"""Measuring artifacts for real: runtimes, bench, XNNPACK delegation, Vela, tflite-micro, and
``estimate_artifact`` which combines them with the pure cost models."""
