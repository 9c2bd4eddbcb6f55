"""`arstudio bench`: speed and quality benchmarks whose ratios are measured within one run."""
