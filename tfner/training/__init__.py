"""Stage 4, training: the run config, optimizers, strategies, callbacks and `tfner train`."""
