"""The one home of the .tflite flatbuffer: read and pack, tensor names, size breakdown and
strip, the sparse tensor format, the C array for tflite-micro."""
