"""tfner: named-entity recognition on Hugging Face TensorFlow encoders.

Importing tfner sets `TF_USE_LEGACY_KERAS=1` (so `tf.keras` is tf_keras) and checks the environment
before TensorFlow is loaded. Import tfner before TensorFlow in your own programs.
"""

from tfner import _env  # noqa: F401  (must run before anything imports TensorFlow)

__version__ = "0.1.0"


def load(path):
    """Load a model saved by `python -m tfner.train` (or `Tagger.save`) for prediction."""
    from tfner.model.tagger import Tagger

    return Tagger.load(path)
