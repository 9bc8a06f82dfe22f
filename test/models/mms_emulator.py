"""Offline emulation of the SageMaker scikit-learn container (image 1.2-1) in multi-model mode, for
test/models/container-contract.test.ts: how it starts, how a model's worker imports its entry point,
and what each request gets back. Test code of Biomes, trimmed from the research harness; every
behaviour cites the container source it follows. Sources (exact revisions):

  sklearn     aws/sagemaker-scikit-learn-container, branch 1.2-1 (b440c40)
  containers  aws/sagemaker-containers v2.8.6.post2 (sklearn requirements.txt:14)
  toolkit     aws/sagemaker-inference-toolkit v1.2.0 (sklearn requirements.txt:15)
  mms         awslabs/multi-model-server v1.1.1 (sklearn requirements.txt:8)

Not emulated: separate processes (each model runs in this one interpreter, its modules evicted
after it), the pip install itself (its inputs are checked instead; the image build runs the real
one offline), MMS batching, timeouts and /ping. Needs numpy, as the container's default handlers do.

Usage: python3 mms_emulator.py < jobs.json > results.json, with {"jobs": [job, ...]} in and
{"results": [result, ...]} out (one interpreter for every job), where a job is
  {"code_dir": <the image's /opt/ml/code>, "models_dir": <the image's /opt/ml/models>,
   "site_packages": [<stand-ins for the image's site-packages>], "env": {<container environment>},
   "network_isolation": true,
   "models": [{"name": ..., "model_dir": ..., "requests": [{"body", "content_type", "accept"}]}]}
and result is {"startup": {"ok", "module", "error"}, "models": [{"name", "responses": [...]}]}.
"""
import ast
import base64
import importlib
import importlib.util
import io
import json
import os
import sys

try:
    import numpy as np
except ImportError:
    sys.stderr.write("mms_emulator: numpy is required (the container's default handlers decode with "
                     "it): install it, e.g. `pip install numpy` or `apt-get install python3-numpy`\n")
    sys.exit(3)

# The image's Python (sklearn docker/1.2-1/base/Dockerfile.cpu:10, ARG PYTHON_VERSION=3.9).
CONTAINER_PYTHON = (3, 9)

# What model code may import besides the standard library: the image's Python packages
# (sklearn requirements.txt:1-28, by import name) and scikit-learn's own dependencies.
CONTAINER_PACKAGES = {
    "boto3", "botocore", "certifi", "cryptography", "dateutil", "flask", "gevent", "google",
    "gunicorn", "jinja2", "joblib", "markupsafe", "numpy", "pandas", "psutil", "retrying",
    "sagemaker_containers", "sagemaker_inference", "sagemaker_training", "scipy", "setuptools",
    "six", "sklearn", "threadpoolctl", "urllib3", "werkzeug", "wheel",
}

# toolkit src/sagemaker_inference/content_types.py
JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
ANY = "*/*"
UTF8_TYPES = [JSON, CSV]


class UnsupportedFormatError(Exception):  # toolkit errors.py:19-30 (a plain Exception: a 500)
    def __init__(self, content_type):
        super().__init__("Content type %s is not supported by this framework." % content_type)


def _decode(data, content_type):  # toolkit decoder.py:74-96, exact-string keys
    if content_type == NPY:
        return np.load(io.BytesIO(data), allow_pickle=True)
    if content_type == CSV:
        return np.genfromtxt(io.StringIO(data), dtype=None, delimiter=",")
    if content_type == JSON:
        return np.array(json.loads(data), dtype=None)
    raise UnsupportedFormatError(content_type)


def _encode(array_like, content_type):  # toolkit encoder.py:84-109
    if content_type == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array_like)
        return buffer.getvalue()
    if content_type == CSV:
        stream = io.StringIO()
        np.savetxt(stream, array_like, delimiter=",", fmt="%s")
        return stream.getvalue()
    if content_type == JSON:
        return json.dumps(array_like, default=lambda a: a.tolist() if hasattr(a, "tolist")
                          else json.JSONEncoder().default(a))
    raise UnsupportedFormatError(content_type)


class StartupError(RuntimeError):
    """The container's `serve` process exits: /ping never answers, the endpoint fails to create."""


def _strtobool(value):  # containers _env.py:899 uses distutils-style strtobool
    v = value.lower()
    if v in ("y", "yes", "t", "true", "on", "1"):
        return True
    if v in ("n", "no", "f", "false", "off", "0"):
        return False
    raise ValueError("invalid truth value %r" % value)


def _check_source(path):
    """What the container's interpreter would refuse or fail to import in a module file."""
    with open(path, encoding="utf-8") as f:
        source = f.read()
    try:
        tree = ast.parse(source, filename=path, feature_version=CONTAINER_PYTHON)
    except SyntaxError as e:
        raise ImportError("%s: syntax the container's Python %d.%d cannot read: %s"
                          % (path, CONTAINER_PYTHON[0], CONTAINER_PYTHON[1], e)) from e
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in CONTAINER_PACKAGES:
                raise ImportError("%s imports %s, which the container does not have and cannot "
                                  "install (network isolation)" % (path, name))


def _module_name(program):  # containers _env.py:413-415, toolkit environment.py:79-90
    return program[:-3] if program and program.endswith(".py") else program


class _Path:
    """sys.path, modules and working directory, restored afterwards (one process per worker in
    the real container)."""

    def __init__(self, front, back, cwd=None):
        self.front, self.back, self.cwd = front, back, cwd

    def __enter__(self):
        self.saved = (list(sys.path), set(sys.modules), os.getcwd())
        sys.path[:0] = self.front
        sys.path.extend(self.back)
        if self.cwd:
            os.chdir(self.cwd)
        importlib.invalidate_caches()
        return self

    def __exit__(self, *exc):
        path, modules, cwd = self.saved
        sys.path[:] = path
        for name in set(sys.modules) - modules:
            del sys.modules[name]
        os.chdir(cwd)


def startup(env, code_dir, site_packages, network_isolation=True):
    """`serve` in multi-model mode: sklearn serving.py:150-157 -> serving_mms.py:120-125. Returns the
    module name the workers import; raises StartupError where the real process dies."""
    if not env.get("SAGEMAKER_MULTI_MODEL"):  # sklearn serving.py:34-35,156 (a truthy test)
        raise StartupError("SAGEMAKER_MULTI_MODEL unset: serve would start the single-model gunicorn "
                           "server (sklearn serving.py:159), not the multi-model server")
    try:  # containers _env.py:329-331 (_Env) and :899-901 (ServingEnv) parse these at start-up
        int(env.get("SAGEMAKER_CONTAINER_LOG_LEVEL", "20"))
        _strtobool(env.get("SAGEMAKER_USE_NGINX", "true"))
        int(env.get("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60"))
        int(env.get("SAGEMAKER_MODEL_SERVER_WORKERS", "1"))
        int(env.get("MAX_CONTENT_LENGTH", "0"))  # sklearn serving_mms.py:72-73
        int(env.get("SAGEMAKER_NUM_MODEL_WORKERS", "1"))  # MMS default_workers_per_model (serving_mms.py:91)
    except ValueError as e:
        raise StartupError("ValueError while reading the environment: %s" % e) from e
    module_name = _module_name(env.get("SAGEMAKER_PROGRAM"))  # containers _env.py:329, default None
    uri = env.get("SAGEMAKER_SUBMIT_DIRECTORY", code_dir)  # containers _env.py:330, default /opt/ml/code

    # containers _files.py:112-144 download_and_extract(uri, /opt/ml/code)
    os.makedirs(code_dir, exist_ok=True)
    if not os.listdir(code_dir):  # :125, only an empty /opt/ml/code is filled
        if uri.startswith("s3://"):  # :127-129, boto3 inside the container
            raise StartupError("download of %s from S3 inside the container: impossible with network "
                               "isolation (no network, no credentials)" % uri if network_isolation
                               else "S3 download not emulated")
        if os.path.isdir(uri):
            if uri == code_dir:  # :134-136
                pass
            else:
                raise StartupError("copy of %s into /opt/ml/code not emulated" % uri)  # :137-139
        elif not os.path.exists(uri):  # :140, tarfile.is_tarfile raises FileNotFoundError
            raise StartupError("FileNotFoundError: %s" % uri)
        else:
            raise StartupError("extraction of %s not emulated" % uri)

    # containers _modules.py:255-256 prepare() + install(): `python -m pip install . [-r requirements.txt]`
    if module_name is None:  # prepare() then importlib.import_module(None) (_modules.py:258)
        raise StartupError("ImportModuleError: 'NoneType' object has no attribute 'startswith' "
                           "(SAGEMAKER_PROGRAM is unset)")
    if os.path.exists(os.path.join(code_dir, "requirements.txt")) and network_isolation:  # :113-114
        raise StartupError("/opt/ml/code/requirements.txt: start-up would pip-install it, which needs "
                           "the network")
    if network_isolation and env.get("PIP_NO_BUILD_ISOLATION", "").lower() not in ("0", "false", "no", "off"):
        # From pip 25.3, `pip install .` is an isolated PEP 517 build that downloads setuptools.
        raise StartupError("pip install of /opt/ml/code would build in isolation and download "
                           "setuptools: set PIP_NO_BUILD_ISOLATION=0 in the image")

    # After the install the module is in site-packages; import, then reload (_modules.py:258-259).
    with _Path([], [code_dir] + site_packages):
        try:
            spec = importlib.util.find_spec(module_name)
            if spec is None or not spec.origin or not spec.origin.startswith(code_dir):
                raise ImportError("No module named %r in /opt/ml/code" % module_name)
            _check_source(spec.origin)
            importlib.reload(importlib.import_module(module_name))
        except Exception as e:  # six.reraise(ImportModuleError, ...) (_modules.py:262-263)
            raise StartupError("ImportModuleError: %s" % e) from e
    return module_name


def _default_model_fn(model_dir):  # sklearn handler_service.py:33-44
    raise NotImplementedError("Please provide a model_fn implementation.")


def _default_input_fn(input_data, content_type):  # sklearn handler_service.py:46-63
    array = _decode(input_data, content_type)
    if len(array.shape) == 1:
        array = array.reshape(1, -1)
    return array.astype(np.float32) if content_type in UTF8_TYPES else array


def _default_predict_fn(input_data, model):  # sklearn handler_service.py:65-74
    return model.predict(input_data)


def _default_output_fn(prediction, accept):  # sklearn handler_service.py:76-88
    return _encode(prediction, accept), accept


class ModelWorker:
    """One MMS backend worker of one model, with sagemaker_sklearn_container.handler_service."""

    def __init__(self, model_dir, env, code_dir, site_packages, models_dir):
        self.model_dir, self.env = model_dir, env
        # mms WorkerLifeCycle.java:65-77: PYTHONPATH = <handler>:$PYTHONPATH:<model dir>, where
        # $PYTHONPATH = "<models>/code:" (sklearn mms_patch/model_server.py:99-109) and the handler
        # entry is a module name, not a folder; the worker runs in the model dir (:160), which the
        # empty entry means. site-packages (the globally installed entry point) comes after them.
        self.front = [os.path.join(model_dir, "sagemaker_sklearn_container.handler_service"),
                      os.path.join(models_dir, "code"), model_dir, model_dir]
        self.back = [code_dir] + site_packages
        self.initialized = False

    def _initialize(self):  # toolkit transformer.py:146-194
        if self.initialized:
            return
        int(self.env.get("SAGEMAKER_MODEL_SERVER_TIMEOUT", "60"))  # toolkit environment.py:67-69
        name = _module_name(self.env.get("SAGEMAKER_PROGRAM", "inference.py"))  # environment.py:24,66
        fns = dict(model_fn=_default_model_fn, transform_fn=None, input_fn=None, predict_fn=None,
                   output_fn=None)
        spec = importlib.util.find_spec(name)
        if spec is not None:
            if spec.origin and spec.origin.endswith(".py"):
                _check_source(spec.origin)
            module = importlib.import_module(name)
            self.module_file = getattr(module, "__file__", None)
            for fn in fns:
                fns[fn] = getattr(module, fn, fns[fn])
            if fns["transform_fn"] and (fns["input_fn"] or fns["predict_fn"] or fns["output_fn"]):
                raise ValueError("Cannot use transform_fn implementation in conjunction with "
                                 "input_fn, predict_fn, and/or output_fn implementation")
        self.input_fn = fns["input_fn"] or _default_input_fn
        self.predict_fn = fns["predict_fn"] or _default_predict_fn
        self.output_fn = fns["output_fn"] or _default_output_fn
        self.transform_fn = fns["transform_fn"] or self._default_transform_fn
        self.model = fns["model_fn"](self.model_dir)
        self.initialized = True

    def _default_transform_fn(self, model, input_data, content_type, accept):  # transformer.py:196-215
        return self.output_fn(self.predict_fn(self.input_fn(input_data, content_type), model), accept)

    def load(self):
        # mms model_loader.py:141-153: initialize's exceptions are swallowed, the load succeeds.
        try:
            self._initialize()
        except Exception:
            pass

    def invoke(self, body, content_type, accept):
        # toolkit default_handler_service.py:46-48: initialize runs outside transform's try, and mms
        # service.py:112-114 answers what escapes with 503.
        try:
            self._initialize()
        except Exception as e:
            return {"status": 503, "body": "Prediction failed", "content_type": None,
                    "detail": "%s: %s" % (type(e).__name__, e)}
        from sagemaker_inference.errors import BaseInferenceToolkitError  # the image's toolkit

        try:  # toolkit transformer.py:107-144
            if not accept or accept == ANY:
                accept = self.env.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", JSON)  # environment.py:71-73
            data = body.decode("utf-8") if content_type in UTF8_TYPES else body
            result = self.transform_fn(self.model, data, content_type, accept)
            response, response_type = (result[0], result[1]) if isinstance(result, tuple) else (result, accept)
            if isinstance(response, (bytes, bytearray)):
                try:
                    response = bytes(response).decode("utf-8")
                except UnicodeDecodeError:
                    return {"status": 200, "body": base64.b64encode(response).decode("ascii"),
                            "body_encoding": "base64", "content_type": response_type}
            return {"status": 200, "body": response, "content_type": response_type}
        except Exception as e:
            if isinstance(e, BaseInferenceToolkitError):  # :139-140, handle_error (:82-92)
                return {"status": e.status_code, "body": e.message, "content_type": None,
                        "phrase": e.phrase}
            return {"status": 500, "body": str(e), "content_type": None}  # :142-144


def run(job):
    env = dict(job["env"])
    code_dir, site_packages = job["code_dir"], job.get("site_packages", [])
    result = {"startup": {"ok": False, "module": None, "error": None}, "models": []}
    try:
        result["startup"] = {"ok": True, "module": startup(env, code_dir, site_packages,
                                                           job.get("network_isolation", True)),
                             "error": None}
    except StartupError as e:
        result["startup"]["error"] = str(e)
        return result
    for model in job.get("models", []):
        worker = ModelWorker(model["model_dir"], env, code_dir, site_packages, job["models_dir"])
        responses = []
        with _Path(worker.front, worker.back, cwd=model["model_dir"]):
            worker.load()
            for request in model.get("requests", []):
                responses.append(worker.invoke(request["body"].encode("utf-8"),
                                               request.get("content_type"), request.get("accept")))
        result["models"].append({"name": model["name"], "responses": responses,
                                 "module_file": getattr(worker, "module_file", None)})
    return result


if __name__ == "__main__":
    sys.dont_write_bytecode = True  # the image sets PYTHONDONTWRITEBYTECODE=1 too (base Dockerfile.cpu:155)
    json.dump({"results": [run(job) for job in json.load(sys.stdin)["jobs"]]}, sys.stdout)
