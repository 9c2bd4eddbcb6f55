"""Data sets that ship offline, with fixed splits (see DESIGN.md's data section)."""

from arstudio.data.datasets import Dataset, UnknownDatasetError, datasets, get_dataset

__all__ = ["Dataset", "UnknownDatasetError", "datasets", "get_dataset"]
