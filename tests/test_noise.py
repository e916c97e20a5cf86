"""Noise models: the contract (shape, dtype, determinism, input untouched) and stated statistics."""
import inspect

import numpy as np
import pytest
from scipy.special import i0e, i1e
from skimage import data

import denoise_core.noise  # noqa: F401  (registers the models)
from denoise_core import registry
from denoise_core.apply import add_noise
from denoise_core.noise import MIX_COMPONENTS, mixed_recipe

MODELS = ("gaussian", "salt_pepper", "speckle", "poisson", "rician", "low_light", "scribbles", "jpeg",
          "mixed", "rician_snr", "poisson_gaussian", "ct_lowdose", "camera")


def flat(value, shape=(256, 256)):
    return np.full(shape, value, np.float32)


@pytest.fixture(scope="module")
def gray():
    return data.camera()[128:256, 192:320].astype(np.float32) / 255


@pytest.fixture(scope="module")
def colour():
    return data.astronaut()[:128, 128:256].astype(np.float32) / 255


def test_names_are_the_contract():
    assert set(MODELS) <= set(registry.names("noise"))


@pytest.mark.parametrize("model", MODELS)
def test_schema_matches_signature(model):
    method = registry.get(model, "noise")
    signature = inspect.signature(method.func)
    keyword = [p for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert [p.name for p in keyword] == [p.name for p in method.params] + ["rng"]
    for param in method.params:
        assert signature.parameters[param.name].default == param.default
        assert param.check(param.default) == param.default
    assert method.summary and method.title != model


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("image_name", ["gray", "colour"])
def test_contract(model, image_name, request):
    image = request.getfixturevalue(image_name)
    before = image.copy()
    out = add_noise(image, model, seed=3)
    assert out.shape == image.shape and out.dtype == np.float32
    assert np.array_equal(image, before), "input modified"
    assert 0.0 <= out.min() and out.max() <= 1.0
    assert not np.array_equal(out, image)
    assert np.array_equal(out, add_noise(image, model, seed=3))
    if model != "jpeg":  # JPEG is deterministic
        assert not np.array_equal(out, add_noise(image, model, seed=4))


def test_float32_input_is_not_modified_in_place():
    image = flat(0.5, (64, 64))  # float32 passes through check_array without a copy
    for model in MODELS:
        add_noise(image, model, seed=0)
        assert np.all(image == 0.5), model


def test_gaussian_statistics_and_reproducible_formula():
    image, sigma = flat(0.5), 0.1
    out = add_noise(image, "gaussian", {"sigma": sigma, "clip": False}, seed=7)
    residual = out.astype(np.float64) - image
    assert abs(residual.std() / sigma - 1) < 0.02
    assert abs(residual.mean()) < 4 * sigma / np.sqrt(image.size)
    expected = image + sigma * np.random.default_rng(7).standard_normal(image.shape)
    assert np.array_equal(out, expected.astype(np.float32))


def test_gaussian_clip_option(gray):
    unclipped = add_noise(gray, "gaussian", {"sigma": 0.3, "clip": False}, seed=0)
    clipped = add_noise(gray, "gaussian", {"sigma": 0.3}, seed=0)
    assert unclipped.min() < 0 and unclipped.max() > 1
    assert np.array_equal(clipped, np.clip(unclipped, 0, 1))


@pytest.mark.parametrize("amount,salt_ratio", [(0.05, 0.5), (0.2, 0.3), (0.5, 0.8)])
def test_salt_pepper_fraction_and_ratio(amount, salt_ratio):
    out = add_noise(flat(0.5), "salt_pepper", {"amount": amount, "salt_ratio": salt_ratio}, seed=1)
    hit = out != 0.5
    assert set(np.unique(out[hit])) <= {0.0, 1.0}
    assert abs(hit.mean() / amount - 1) < 0.10
    assert abs((out[hit] == 1.0).mean() - salt_ratio) < 0.03


def test_salt_pepper_hits_all_channels_together(colour):
    out = add_noise(colour, "salt_pepper", {"amount": 0.2}, seed=2)
    changed = (out != colour).any(axis=2)
    assert np.all((out[changed] == 0).all(axis=1) | (out[changed] == 1).all(axis=1))
    assert abs(changed.mean() / 0.2 - 1) < 0.10


@pytest.mark.parametrize("x", [0.2, 0.5])
def test_speckle_variance_scales_with_intensity(x):
    var = 0.04
    out = add_noise(flat(x), "speckle", {"var": var}, seed=0).astype(np.float64)
    assert abs((out - x).var() / (var * x ** 2) - 1) < 0.03
    assert abs(out.mean() - x) < 4 * np.sqrt(var) * x / np.sqrt(out.size)


@pytest.mark.parametrize("x,peak", [(0.3, 30.0), (0.6, 100.0)])
def test_poisson_variance_is_x_over_peak(x, peak):
    out = add_noise(flat(x), "poisson", {"peak": peak}, seed=0).astype(np.float64)
    assert abs(out.var() / (x / peak) - 1) < 0.03
    assert abs(out.mean() - x) < 4 * np.sqrt(x / peak / out.size)
    assert np.allclose(out * peak, np.round(out * peak), atol=1e-3)  # whole photon counts


def rice_mean(x, sigma):
    """Mean of the Rice distribution: sigma·sqrt(pi/2)·L_{1/2}(-x²/2sigma²)."""
    t = x ** 2 / (2 * sigma ** 2)
    return sigma * np.sqrt(np.pi / 2) * ((1 + t) * i0e(t / 2) + t * i1e(t / 2))


@pytest.mark.parametrize("x", [0.0, 0.05, 0.3])
def test_rician_mean_bias_matches_theory(x):
    sigma = 0.1
    out = add_noise(flat(x), "rician", {"sigma": sigma}, seed=0).astype(np.float64)
    assert abs(out.mean() / rice_mean(x, sigma) - 1) < 0.01
    if x == 0.0:
        assert abs(out.mean() / (sigma * np.sqrt(np.pi / 2)) - 1) < 0.01


@pytest.mark.parametrize("snr", [5.0, 20.0])
def test_rician_snr_reaches_the_foreground_snr_and_biases_the_air(snr):
    phantom = np.zeros((256, 256), np.float32)
    phantom[64:192, 64:192] = 0.6  # tissue in air
    out = add_noise(phantom, "rician_snr", {"snr": snr}, seed=0).astype(np.float64)
    tissue, air = out[64:192, 64:192], out[:48]
    assert abs(tissue.mean() / tissue.std() / snr - 1) < 0.05  # nearly Gaussian where x >> sigma
    sigma = 0.6 / snr
    assert abs(air.mean() / (sigma * np.sqrt(np.pi / 2)) - 1) < 0.02  # Rayleigh in the air


def test_poisson_gaussian_variance_is_affine_in_intensity():
    peak, read = 200.0, 0.02
    levels = np.array([0.2, 0.4, 0.6, 0.8])
    variances = [add_noise(flat(x), "poisson_gaussian", {"peak": peak, "read_sigma": read}, seed=0).var()
                 for x in levels]
    slope, intercept = np.polyfit(levels, variances, 1)
    assert abs(slope * peak - 1) < 0.05
    assert abs(intercept / read ** 2 - 1) < 0.15


def test_camera_noise_is_poisson_gaussian_then_correlated():
    peak, read = 100.0, 0.01
    white = [add_noise(flat(x), "camera", {"peak": peak, "read_sigma": read, "spread": 0.0, "quality": 100},
                       seed=0).var() for x in (0.2, 0.8)]
    assert abs((white[1] - white[0]) / 0.6 * peak - 1) < 0.05  # variance x/peak + read²
    spread = add_noise(flat(0.5), "camera", {"peak": peak, "read_sigma": read, "quality": 100}, seed=0)
    assert abs(spread.var() / (0.5 / peak + read ** 2) / 0.1675 - 1) < 0.1  # × the 0.7 px kernel's squared norm
    assert abs(float(np.corrcoef(spread[:, :-1].ravel(), spread[:, 1:].ravel())[0, 1]) - 0.6) < 0.1


@pytest.fixture(scope="module")
def ct_phantom():
    from skimage.transform import resize
    return resize(data.shepp_logan_phantom(), (128, 128)).astype(np.float32)


def test_ct_lowdose_noise_falls_as_one_over_root_photons(ct_phantom):
    def noise_std(photons):
        first, second = (add_noise(ct_phantom, "ct_lowdose", {"photons": photons}, seed=s) for s in (0, 1))
        return (first - second)[32:96, 40:88].std() / np.sqrt(2)  # inside the head, where nothing is clipped
    assert abs(noise_std(1e3) / noise_std(4e3) - 2) < 0.15
    assert abs(noise_std(4e3) / noise_std(1.6e4) - 2) < 0.15


def test_ct_lowdose_converges_to_the_noise_free_reconstruction(ct_phantom):
    from denoise_core.metrics import psnr
    high, low = (add_noise(ct_phantom, "ct_lowdose", {"photons": p}, seed=0) for p in (1e7, 1e3))
    assert psnr(ct_phantom, high) > 28  # FBP with as many angles as pixels: only small artefacts
    assert psnr(ct_phantom, low) < psnr(ct_phantom, high) - 4
    wide = np.pad(ct_phantom, ((0, 0), (20, 20)))  # a non-square image keeps its shape and position
    assert psnr(wide, add_noise(wide, "ct_lowdose", {"photons": 1e7}, seed=0)) > 28


def test_ct_lowdose_reports_its_progress_in_order_up_to_the_end(ct_phantom):
    from denoise_core import progress
    heard: list[float] = []
    with progress.listening(heard.append):
        add_noise(np.stack([ct_phantom] * 3, axis=2), "ct_lowdose", {"photons": 1e3}, seed=0)
    assert len(heard) == 3 * 2 * denoise_core.noise.CT_CHUNKS and heard == sorted(heard) and heard[-1] == pytest.approx(1.0)
    add_noise(ct_phantom, "ct_lowdose", {"photons": 1e3}, seed=0)  # no listener: nothing to tell, nothing breaks


def test_low_light_mean_and_variance():
    x, dim, peak, read = 0.5, 0.2, 500.0, 0.005
    params = {"dim": dim, "peak": peak, "read_sigma": read}
    out = add_noise(flat(x), "low_light", params, seed=0).astype(np.float64)
    expected_var = (dim * x / peak + read ** 2) / dim ** 2
    assert abs(out.var() / expected_var - 1) < 0.03
    assert abs(out.mean() - x) < 4 * np.sqrt(expected_var / out.size)


def test_low_light_darker_is_noisier(gray):
    errors = [np.abs(add_noise(gray, "low_light", {"dim": dim}, seed=0) - gray).mean()
              for dim in (1.0, 0.3, 0.05)]
    assert errors[0] < errors[1] < errors[2]


def test_jpeg_lower_quality_larger_error(gray):
    errors = [np.sqrt(np.mean((add_noise(gray, "jpeg", {"quality": q}) - gray) ** 2)) for q in (90, 50, 10)]
    assert 0 < errors[0] < errors[1] < errors[2]
    out = add_noise(gray, "jpeg", {"quality": 10})
    assert np.allclose(out * 255, np.round(out * 255), atol=1e-3)  # 8-bit grid


def test_jpeg_colour(colour):
    out = add_noise(colour, "jpeg", {"quality": 30})
    assert 0 < np.abs(out - colour).mean() < 0.05


def test_scribbles_grow_with_count():
    image = flat(0.5)
    changed = []
    for count in (1, 4, 16, 60):
        out = add_noise(image, "scribbles", {"count": count, "thickness": 2}, seed=5)
        assert set(np.unique(out[out != 0.5])) <= {0.0, 1.0}
        changed.append(np.count_nonzero(out != 0.5))
    assert 0 < changed[0] < changed[1] < changed[2] < changed[3]


def test_scribbles_thicker_paints_more():
    image = flat(0.5)
    thin, thick = (np.count_nonzero(add_noise(image, "scribbles", {"thickness": t}, seed=5) != 0.5)
                   for t in (1, 6))
    assert thick > 2 * thin


def test_mixed_reproducible_and_seed_dependent(gray):
    outs = [add_noise(gray, "mixed", {"strength": 0.6}, seed=s) for s in (0, 0, 1, 2)]
    assert np.array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2]) and not np.array_equal(outs[2], outs[3])


def test_mixed_recipe_is_what_mixed_applies(gray):
    for seed in range(5):
        recipe = mixed_recipe(seed, strength=0.7)
        names = [name for name, _ in recipe]
        assert 1 <= len(recipe) <= 3 and len(set(names)) == len(names)
        assert "mixed" not in names and set(names) <= set(MIX_COMPONENTS)
        assert names == [name for name in MIX_COMPONENTS if name in names]  # the documented order
        rng = np.random.default_rng(seed)
        assert mixed_recipe(rng, strength=0.7) == recipe
        expected = gray
        for name, params in recipe:
            expected = registry.get(name, "noise").func(expected, rng=rng, **params)
        assert np.array_equal(add_noise(gray, "mixed", {"strength": 0.7}, seed=seed), expected)


def test_mixed_recipes_cover_every_component():
    seen = {name for seed in range(60) for name, _ in mixed_recipe(seed)}
    assert seen == set(MIX_COMPONENTS)
    counts = {len(mixed_recipe(seed)) for seed in range(60)}
    assert counts == {1, 2, 3}


def test_mixed_strength_orders_damage(gray):
    def rmse(strength):
        outs = [add_noise(gray, "mixed", {"strength": strength}, seed=s) for s in range(20)]
        return np.mean([np.sqrt(np.mean((out - gray) ** 2)) for out in outs])
    light, default, strong = rmse(0.1), rmse(0.5), rmse(1.0)
    assert light < 0.05 and light < default < strong


def test_out_of_range_parameter_is_refused(gray):
    from denoise_core.errors import InvalidParameterError
    with pytest.raises(InvalidParameterError, match="amount"):
        add_noise(gray, "salt_pepper", {"amount": 1.5})
    with pytest.raises(InvalidParameterError, match="quality"):
        add_noise(gray, "jpeg", {"quality": 0})
    with pytest.raises(InvalidParameterError, match="strength"):
        mixed_recipe(0, strength=0.0)


@pytest.mark.parametrize("model, params, fit, truth, tolerance", [
    ("salt_pepper", {"amount": 0.1}, "impulse", 0.1, 0.01),
    ("poisson", {"peak": 30.0}, "peak", 30.0, 0.2),  # clipping at 1 hides some variance: the fit runs high
    ("speckle", {"var": 0.04}, "var", 0.04, 0.15),
])
def test_the_fitted_level_recovers_the_noise_model_s_parameter(model, params, fit, truth, tolerance):
    from denoise_core import analysis, samples
    from denoise_core.image import read_image
    clean, _ = read_image(samples.sample_path("camera"))
    assert registry.get(model, "noise").level.fit == fit
    what, value = analysis.fitted_level(fit, clean, add_noise(clean, model, params, seed=0))
    assert abs(value - truth) <= tolerance * truth, (what, value)


def test_without_a_fit_the_level_is_the_snr():
    clean = np.full((64, 64), 0.5, np.float32)
    noisy = add_noise(clean, "gaussian", {"sigma": 0.05, "clip": False}, seed=0)
    from denoise_core import analysis
    what, value = analysis.fitted_level("", clean, noisy)
    assert what.startswith("SNR") and abs(value - 10.0) < 0.3
