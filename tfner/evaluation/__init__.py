"""Stage 3, evaluation: entity metrics, the collapse diagnosis, reports and plots, `tfner evaluate`."""
