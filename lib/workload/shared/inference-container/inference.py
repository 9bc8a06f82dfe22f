"""The global entry point of the shared multi-model endpoint, baked at /opt/ml/code/inference.py.

Start-up imports this module once (and runs only its top level) so that the container can start
at all: aws/sagemaker-scikit-learn-container (branch 1.2-1)
src/sagemaker_sklearn_container/serving_mms.py:120-125 imports SAGEMAKER_PROGRAM before the model
server starts, and pip-installs it into site-packages (aws/sagemaker-containers v2.8.6.post2
src/sagemaker_containers/_modules.py:237-263).

It serves no model. Every model archive carries its own inference.py at its root, which comes first
on its worker's sys.path (the model directory is on the worker's PYTHONPATH and is its working
directory: awslabs/multi-model-server v1.1.1 WorkerLifeCycle.java:65-75,160), so a worker reaches
this module only for an archive without one. Such a model answers every request with HTTP 501 and a
message saying what is missing, rather than the container's own default, whose default_model_fn
raises NotImplementedError (sklearn handler_service.py:33-44), which reaches the caller only as a
bare 503 "Prediction failed" (multi-model-server mms/service.py:112-114).

Standard library and the inference toolkit only: nothing can be installed at run time.
"""
import os

from sagemaker_inference.errors import GenericInferenceToolkitError

# Not Implemented: the request may be fine; this model has no code to serve it.
STATUS = 501
ENTRY_POINT = "inference.py"


# How many of the archive's root names the message lists.
SHOWN = 10


def model_fn(model_dir):
    # Never raise here: an exception in model_fn is retried on every request and answered with a
    # message-less 503 (sagemaker-inference v1.2.0 default_handler_service.py:46-48 initializes
    # outside transform's error handling). What the archive holds goes into the error instead.
    try:
        return sorted(os.listdir(model_dir))
    except OSError:
        return []


def transform_fn(model, input_data, content_type, accept):
    # Raised as a toolkit error so that its status and message reach the caller (sagemaker-inference
    # v1.2.0 transformer.py:138-140 and handle_error: the status and the message as the body).
    # The message is the body; the phrase, a fixed ASCII text, is the HTTP status line's.
    names = [n.encode("ascii", "backslashreplace").decode("ascii") for n in model[:SHOWN]]
    held = ", ".join(names) + (", ..." if len(model) > SHOWN else "") if names else "nothing"
    raise GenericInferenceToolkitError(
        STATUS,
        "This model archive has no %s at its root, so the endpoint has no code to serve it "
        "(its root holds: %s). Package the model with `npm run package`, which puts "
        "models/<name>/code/%s at the archive root (models/README.md)." % (ENTRY_POINT, held, ENTRY_POINT),
        "Model archive has no %s at its root" % ENTRY_POINT,
    )
