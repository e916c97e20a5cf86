"""Contract tests over the whole registry: every method is tested the moment it is registered."""
import inspect

import numpy as np
import pytest

import denoise_core
from denoise_core import registry
from denoise_core.apply import add_noise, denoise, enhance
from denoise_core.errors import InvalidImageError, InvalidParameterError, UnknownMethodError

CONTEXT_ARGS = {"rng"}  # supplied by the library, not by the user
RNG = np.random.default_rng(1234)
GRAY = np.clip(np.linspace(0, 1, 40 * 48).reshape(40, 48) + 0.05 * RNG.standard_normal((40, 48)), 0, 1).astype(np.float32)
COLOR = np.stack([GRAY, GRAY[::-1], GRAY[:, ::-1]], axis=-1)
IMAGE_KINDS = ("denoiser", "noise", "enhance")


def image_methods():
    return [pytest.param(m, id=f"{m.kind}:{m.name}") for kind in IMAGE_KINDS for m in registry.methods(kind)]


def run(method, image, params=None):
    if method.kind == "noise":
        return add_noise(image, method.name, params, seed=7)
    if method.kind == "enhance":
        return enhance(image, method.name, params)
    return denoise(image, method.name, params)


def test_registry_has_every_documented_method():
    assert {"gaussian", "salt_pepper", "speckle", "poisson", "rician", "low_light", "scribbles", "jpeg",
            "mixed"} <= set(registry.names("noise"))
    assert {"mean", "median", "gaussian", "bilateral", "nlm", "nlm_fast", "bm3d", "wavelet_bayes", "wavelet_visu", "tv", "wiener",
            "anisotropic", "adaptive_median"} <= set(registry.names("denoiser"))
    assert {"psnr", "ssim", "mse", "mae"} <= set(registry.names("metric"))


@pytest.mark.parametrize("method", [pytest.param(m, id=f"{m.kind}:{m.name}") for m in registry.methods()])
def test_schema_matches_signature(method):
    signature = inspect.signature(method.func)
    keyword_only = {n: p for n, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY}
    assert not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()), "no **kwargs"
    assert set(keyword_only) - CONTEXT_ARGS == {p.name for p in method.params}
    for param in method.params:
        assert keyword_only[param.name].default == param.default, param.name
        assert param.check(param.default) == param.default, f"default of {param.name} fails its own check"
    assert method.summary, "a one-line docstring summary is shown in the UI"


@pytest.mark.parametrize("method", image_methods())
@pytest.mark.parametrize("image", [GRAY, COLOR], ids=["gray", "color"])
def test_shape_dtype_range_untouched_deterministic(method, image):
    before = image.copy()
    first, second = run(method, image), run(method, image)
    np.testing.assert_array_equal(image, before, err_msg="input modified")
    assert first.shape == image.shape and first.dtype == np.float32
    assert np.isfinite(first).all() and first.min() >= 0 and first.max() <= 1
    np.testing.assert_array_equal(first, second, err_msg="not deterministic")


@pytest.mark.parametrize("method", image_methods())
@pytest.mark.parametrize("bad", [np.full((8, 8), np.nan), np.zeros(10), np.zeros((8, 8, 5)), np.zeros((1, 9)),
                                 np.array([["a"]])], ids=["nan", "1d", "5ch", "tiny", "strings"])
def test_bad_image_refused(method, bad):
    with pytest.raises(InvalidImageError):
        run(method, bad)


@pytest.mark.parametrize("method", image_methods())
def test_bad_parameters_refused(method):
    with pytest.raises(InvalidParameterError, match="no parameter 'not_a_param'"):
        run(method, GRAY, {"not_a_param": 1})
    for param in method.params:
        hi = getattr(param, "hi", None)
        if hi is not None:
            with pytest.raises(InvalidParameterError, match=param.name):
                run(method, GRAY, {param.name: hi + 10 * (getattr(param, "step", None) or 1)})


def test_auto_rules_return_valid_values():
    for method in registry.methods("denoiser"):
        if method.auto is None:
            continue
        for level in ({"sigma": 0.0, "impulse": 0.0}, {"sigma": 15 / 255, "impulse": 0.0},
                      {"sigma": 50 / 255, "impulse": 0.0}, {"sigma": 0.02, "impulse": 0.3}):
            method.resolve(None, level)  # raises if auto picks an out-of-range value


def test_unknown_names_refused():
    with pytest.raises(UnknownMethodError, match="valid:"):
        denoise(GRAY, "no_such_method")
    with pytest.raises(UnknownMethodError):
        add_noise(GRAY, "no_such_noise")


def test_public_api_exports_exist():
    for name in denoise_core.__all__:
        assert hasattr(denoise_core, name)


@pytest.mark.parametrize("name", ["okname\n", "Okname", "a", "x" * 41, "../x", "ok name", ""])
def test_a_name_breaking_the_rule_is_not_registered(name, monkeypatch):
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    with pytest.raises(InvalidParameterError, match="lower-case letters"):
        registry.register(name, kind="denoiser")(lambda image: image)
    assert name not in registry.names("denoiser")


def test_a_second_registration_of_a_name_is_one_denoise_error(monkeypatch):
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    with pytest.raises(InvalidParameterError, match="denoiser 'median' is already registered"):
        registry.register("median", kind="denoiser")(lambda image: image)
    assert registry.check_name("ok_name2") == "ok_name2"
