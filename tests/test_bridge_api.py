"""API hygiene for the bridge modules: docstrings document every parameter, nothing compiles at
import, and the numba kernels load from the on-disk cache in a new process."""

import importlib
import inspect
import re
import subprocess
import sys

import pytest

MODULES = ["mlp", "init", "training", "stats", "flows", "regions"]


def _public(mod):
    for name in mod.__all__:
        obj = getattr(mod, name)
        if inspect.isclass(obj):
            yield f"{name}", obj
            for meth_name, meth in vars(obj).items():
                if inspect.isfunction(meth) and not meth_name.startswith("_"):
                    yield f"{name}.{meth_name}", meth
        elif callable(obj):
            yield name, obj


@pytest.mark.parametrize("modname", MODULES)
def test_docstrings_document_every_parameter(modname):
    mod = importlib.import_module(f"leaky_control.bridge.{modname}")
    for qual, obj in _public(mod):
        doc = inspect.getdoc(obj) or ""
        assert doc, f"{qual} has no docstring"
        target = obj.__init__ if inspect.isclass(obj) and "__init__" in vars(obj) else obj
        if inspect.isclass(obj) and "__init__" not in vars(obj):
            continue  # dataclasses document their fields under Parameters/Attributes
        params = [p for p in inspect.signature(target).parameters if p not in ("self", "cls")]
        for p in params:
            assert re.search(rf"^\s*{p}\b.*:|^\s*[\w, ]*\b{p}\b[\w, ]*:", doc, re.M), (
                f"{qual}: parameter {p!r} is not documented"
            )


def test_nothing_compiles_at_import_and_cache_is_reused():
    code = (
        "import numpy as np\n"
        "from leaky_control.bridge import mlp, training\n"
        "assert not mlp._loss_grad_kernel.signatures and not training._epoch_kernel.signatures\n"
        "from leaky_control.bridge.init import init_mlp\n"
        "net = init_mlp([2, 3, 1], rng=0)\n"
        "net.loss_and_grads(np.ones((4, 2)), np.ones((4, 1)))\n"
        "print(sum(mlp._loss_grad_kernel.stats.cache_hits.values()))\n"
    )
    run = [sys.executable, "-c", code]
    subprocess.run(run, check=True, capture_output=True, text=True)  # fills the cache if needed
    out = subprocess.run(run, check=True, capture_output=True, text=True)
    assert int(out.stdout.strip()) >= 1
