"""Every lazily exported name resolves to the object its module defines."""

import importlib

import pytest

import leaky_control

PACKAGES = ["leaky_control", "leaky_control.analysis", "leaky_control.bridge"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_export_resolves(package):
    mod = importlib.import_module(package)
    assert mod.__all__, f"{package} exports nothing"
    for name in mod.__all__:
        assert getattr(mod, name) is not None, name


def test_function_names_are_not_shadowed_by_modules():
    import leaky_control.bridge as bridge
    import leaky_control.bridge.training as training

    assert bridge.train is training.train
    assert callable(leaky_control.simulate) and callable(leaky_control.step_info)


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'bogus'"):
        leaky_control.bogus  # noqa: B018
