"""arstudio: watch autoregressive models generate, one step at a time."""

__version__ = "0.1.0"
