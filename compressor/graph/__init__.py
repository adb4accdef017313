"""The op-level IR of exported artifacts (.tflite and .onnx), read for the cost models."""
