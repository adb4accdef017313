"""int8 quantization: static int8 of a .tflite, the accuracy remedies, per-layer sensitivity,
int8 islands, cross-layer equalization, bias correction, quantization-aware training."""
