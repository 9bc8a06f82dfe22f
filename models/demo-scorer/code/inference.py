"""Inference handlers for the demo-scorer model in the SageMaker scikit-learn container.

In multi-model mode the container extracts <name>-<sha>.tar.gz, puts its code/ folder on
sys.path and calls these four functions. The model is a logistic regression stored as plain
JSON coefficients: no pickled weights, so the artifact is readable, diffable and safe to load.
Only the standard library is used, so the model does not depend on the container's versions.
"""
import json
import math
import os

JSON = "application/json"


def model_fn(model_dir):
    with open(os.path.join(model_dir, "model.json"), encoding="utf-8") as f:
        model = json.load(f)
    if len(model["features"]) != len(model["coefficients"]):
        raise ValueError("model.json: features and coefficients must have the same length")
    return model


def _row(model, item, index):
    features = model["features"]
    if isinstance(item, dict):
        missing = [name for name in features if name not in item]
        if missing:
            raise ValueError(f"instance {index}: missing feature(s) {', '.join(missing)}")
        item = [item[name] for name in features]
    if not isinstance(item, list) or len(item) != len(features):
        raise ValueError(
            f"instance {index}: expected {len(features)} numbers ({', '.join(features)}) "
            "or an object with those keys"
        )
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in item):
        raise ValueError(f"instance {index}: every feature must be a number")
    return [float(v) for v in item]


def input_fn(request_body, request_content_type):
    if request_content_type != JSON:
        raise ValueError(f"content type {request_content_type} is not supported; send {JSON}")
    if isinstance(request_body, (bytes, bytearray)):
        request_body = request_body.decode("utf-8")
    body = json.loads(request_body)
    if not isinstance(body, dict) or not isinstance(body.get("instances"), list) or not body["instances"]:
        raise ValueError('send {"instances": [[age, income, visits], ...]} with at least one instance')
    return body["instances"]


def predict_fn(input_data, model):
    predictions = []
    for index, item in enumerate(input_data):
        row = _row(model, item, index)
        z = model["intercept"] + sum(c * x for c, x in zip(model["coefficients"], row))
        score = 1.0 / (1.0 + math.exp(-z))
        predictions.append({"score": round(score, 6), "label": int(score >= model["threshold"])})
    return {"model": model["name"], "predictions": predictions}


def output_fn(prediction, accept):
    if accept not in (JSON, "*/*", None, ""):
        raise ValueError(f"accept type {accept} is not supported; accept {JSON}")
    return json.dumps(prediction), JSON
