"""Stage 5, serving: the inference pipeline, `tfner predict` and SavedModel export for TF Serving."""
