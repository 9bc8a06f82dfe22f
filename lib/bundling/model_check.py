"""The build's check of a packaged model against its own validation rows (lib/bundling/package.ts).

    python3 model_check.py <model dir> < request.json   # prints {"status": ..., "body": ...}

<model dir> is the archive's content as SageMaker extracts it. The entry point is used the way the
endpoint's container uses it in multi-model mode (models/README.md "Layout"): the module
`inference` imported from the model directory first on sys.path, model_fn(model_dir) once, then
input_fn(body, content type), predict_fn(data, model), output_fn(prediction, accept) for the
request, with application/json for both types; a GenericInferenceToolkitError answers with its
status and message, any other exception with 500 and its text (sagemaker-inference v1.2.0
transformer.py:118-144). The full emulation of the container, start-up included, is
test/models/mms_emulator.py; this is the part the build needs to refuse a model whose answers
miss its rows. Only lib/bundling/site-packages (the toolkit's error classes) is added to the path.
"""
import importlib
import json
import os
import sys
import traceback

JSON = "application/json"


def main():
    model_dir = os.path.abspath(sys.argv[1])
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "site-packages"))
    sys.path.insert(0, model_dir)
    body = sys.stdin.read()
    try:
        module = importlib.import_module("inference")
        model = module.model_fn(model_dir)
    except Exception:  # the endpoint answers 503 for every request of such a model
        return {"status": 503, "body": "model_fn or the import of inference failed:\n" + traceback.format_exc(limit=3)}
    try:
        data = module.input_fn(body, JSON)
        prediction = module.predict_fn(data, model)
        result = module.output_fn(prediction, JSON)
        if isinstance(result, tuple):
            result = result[0]
        if isinstance(result, (bytes, bytearray)):
            result = result.decode("utf-8")
        return {"status": 200, "body": result}
    except Exception as e:  # noqa: BLE001 - the container's own catch-all
        status = getattr(e, "status_code", None)
        if isinstance(status, int):
            return {"status": status, "body": str(getattr(e, "message", e))}
        return {"status": 500, "body": f"{type(e).__name__}: {e}"}


if __name__ == "__main__":
    json.dump(main(), sys.stdout)
