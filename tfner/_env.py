"""Environment checks that must run before TensorFlow is imported.

The Hugging Face TensorFlow models are tf_keras (Keras 2) models, so `tf.keras` must be tf_keras
(`TF_USE_LEGACY_KERAS=1`), and transformers 5 removed TensorFlow altogether. Both mistakes otherwise
surface much later as baffling errors, so fail at import with what to install.
"""

import importlib.metadata
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


class EnvironmentCheckError(ImportError):
    pass


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_environment():
    if os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        raise EnvironmentCheckError(
            "tfner needs TF_USE_LEGACY_KERAS=1 (the Hugging Face TF models are tf_keras models); "
            f"it is set to {os.environ.get('TF_USE_LEGACY_KERAS')!r}. Unset it or set it to 1."
        )
    transformers_version = _version("transformers")
    if transformers_version is None:
        raise EnvironmentCheckError("tfner needs transformers: pip install 'transformers>=4.57,<5'")
    if int(transformers_version.split(".")[0]) >= 5:
        raise EnvironmentCheckError(
            f"transformers {transformers_version} is installed, but transformers 5 removed TensorFlow "
            "support. Install a 4.x release: pip install 'transformers>=4.57,<5'"
        )
    if _version("tf-keras") is None:
        raise EnvironmentCheckError(
            "tfner needs tf_keras (Keras 2), which the Hugging Face TF models are built on: "
            "pip install 'tf-keras>=2.20,<2.21'"
        )


check_environment()
