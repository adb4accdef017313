"""Loading a trained model and the torch-level work on it: architectures, output flattening,
exact fx rewrites, recovery fine-tuning, converter error messages."""
