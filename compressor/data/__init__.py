"""Samples for a run, from wherever they are: ``.npz`` / ``.npy`` files (npz.py), folders of
images (images.py) or WAV clips (audio.py), arrays, torch Datasets, DataLoaders and iterables
of batches (stream.py); ``open_data`` (open.py) takes any of them.  Folders and Datasets are
read lazily (samples.LazySamples), iterables are sampled in one pass (samples.reservoir_sample);
fine-tuning reads them a batch at a time in a seeded order (batches.TrainingBatches).
"""

from .folders import Preprocess, parse_floats, parse_size
from .npz import (Batch, Dataset, as_inputs, calibration_samples, head, load_inputs_npz, load_npz,
                  overlap_fraction, parse_input_shape, parse_input_shapes, parse_input_values, sample_count)
from .open import open_data
from .batches import TrainingBatch, TrainingBatches
from .samples import LazySamples, Source, reservoir_sample, select_samples

__all__ = ["Batch", "Dataset", "LazySamples", "Preprocess", "Source", "as_inputs", "calibration_samples", "head",
           "load_inputs_npz", "load_npz", "open_data", "overlap_fraction", "parse_floats", "parse_input_shape",
           "parse_input_shapes", "parse_input_values", "parse_size", "reservoir_sample", "sample_count", "select_samples",
           "TrainingBatch", "TrainingBatches"]
