"""Inference handlers for the demo-scorer model in the SageMaker scikit-learn container (1.2-1).

`npm run package` puts this file at the ROOT of demo-scorer-<sha>.tar.gz, next to model.json. In
multi-model mode SageMaker extracts the archive into the model's directory, which is the model
worker's working directory and on its PYTHONPATH, ahead of site-packages where the endpoint's global
default entry point is installed (awslabs/multi-model-server v1.1.1 WorkerLifeCycle.java:65-75,160),
so the worker imports this module as `inference` (SAGEMAKER_PROGRAM) and calls the four functions
below with model_dir = that directory (sagemaker-inference v1.2.0 transformer.py:146-194).

The model is a logistic regression stored as plain JSON coefficients: no pickled weights, so the
artifact is readable, diffable and safe to load. Only the standard library and the container's
inference toolkit are used, so the model does not depend on the container's other versions.

Errors: a GenericInferenceToolkitError reaches the caller with its status and message
(transformer.py:138-140); any other exception would become a 500 with its text, and one from
model_fn a bare 503 (models/README.md).
"""
import json
import math
import os

from sagemaker_inference.errors import GenericInferenceToolkitError

JSON = "application/json"
BAD_REQUEST = 400
NOT_ACCEPTABLE = 406
UNSUPPORTED_MEDIA_TYPE = 415


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
        model = json.load(f)
    if len(model["features"]) != len(model["coefficients"]):
        raise ValueError("model.json: features and coefficients must have the same length")
    return model


def _bad_request(message):
    return GenericInferenceToolkitError(BAD_REQUEST, message)


def _row(model, item, index):
    features = model["features"]
    if isinstance(item, dict):
        missing = [name for name in features if name not in item]
        if missing:
            raise _bad_request(f"instance {index}: missing feature(s) {', '.join(missing)}")
        item = [item[name] for name in features]
    if not isinstance(item, list) or len(item) != len(features):
        raise _bad_request(
            f"instance {index}: expected {len(features)} numbers ({', '.join(features)}) "
            "or an object with those keys"
        )
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in item):
        raise _bad_request(f"instance {index}: every feature must be a number")
    row = [float(v) for v in item]
    # json.loads accepts NaN and Infinity, which no score can be computed from.
    if not all(math.isfinite(v) for v in row):
        raise _bad_request(f"instance {index}: every feature must be a finite number")
    return row


def _sigmoid(z):
    # The two forms keep math.exp from overflowing for a large |z|.
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def input_fn(request_body, request_content_type):
    if request_content_type != JSON:
        raise GenericInferenceToolkitError(
            UNSUPPORTED_MEDIA_TYPE, f"content type {request_content_type} is not supported; send {JSON}"
        )
    if isinstance(request_body, (bytes, bytearray)):
        request_body = request_body.decode("utf-8")
    usage = 'send {"instances": [[age, income, visits], ...]} with at least one instance'
    try:
        body = json.loads(request_body)
    except ValueError as e:
        raise _bad_request(f"the body is not JSON ({e}); {usage}") from e
    if not isinstance(body, dict) or not isinstance(body.get("instances"), list) or not body["instances"]:
        raise _bad_request(usage)
    return body["instances"]


def predict_fn(input_data, model):
    predictions = []
    for index, item in enumerate(input_data):
        row = _row(model, item, index)
        z = model["intercept"] + sum(c * x for c, x in zip(model["coefficients"], row))
        score = _sigmoid(z)
        predictions.append({"score": round(score, 6), "label": int(score >= model["threshold"])})
    return {"model": model["name"], "predictions": predictions}


def output_fn(prediction, accept):
    # The toolkit has already turned a missing Accept or */* into SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT,
    # application/json by default (transformer.py:118-121).
    if accept not in (JSON, "*/*", None, ""):
        raise GenericInferenceToolkitError(NOT_ACCEPTABLE, f"accept type {accept} is not supported; accept {JSON}")
    return json.dumps(prediction), JSON
