"""`assets.extra/tf_serving_warmup_requests`: one PredictionLog per signature of an export, which TF
Serving replays when it loads the model (so the first real request does not pay for the warm-up)."""

import os

import numpy as np
import tensorflow as tf

WARMUP = "tf_serving_warmup_requests"
WARMUP_TEXTS = ["Patient John Smith was seen on 03/04/2021.", "No findings."]


def write_warmup(path, name, module, tagger):
    """assets.extra/tf_serving_warmup_requests: one PredictLog per signature, or None without the protos."""
    try:
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
    except ImportError:
        return None
    enc = tagger.tokenizer(WARMUP_TEXTS, padding=True, return_tensors="np")
    names = [spec.name for spec in module.serve.input_signature]
    requests = {"serving_default": {n: np.asarray(enc[n], np.int64) for n in names}}
    if module.predict_text is not None:
        requests["predict_text"] = {"text": np.array([t.encode() for t in WARMUP_TEXTS], object)}
    os.makedirs(os.path.join(path, "assets.extra"), exist_ok=True)
    out = os.path.join(path, "assets.extra", WARMUP)
    with tf.io.TFRecordWriter(out) as writer:
        for signature, inputs in requests.items():
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(name=name, signature_name=signature))
            for key, value in inputs.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return out


def read_warmup(path):
    """The (signature, {input: array}) requests of a warm-up file."""
    from tensorflow_serving.apis import prediction_log_pb2

    out = []
    for record in tf.data.TFRecordDataset(path):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        out.append((request.model_spec.signature_name, {k: tf.make_ndarray(v) for k, v in request.inputs.items()}))
    return out
