"""Region-of-interest metrics against values computed by hand on a synthetic phantom."""
import numpy as np
import pytest

from denoise_core.errors import InvalidParameterError
from denoise_core.box import Box
from denoise_core.metrics import cnr, psnr, roi_metrics, snr

LESION = Box(top=20, left=30, height=16, width=24)
AIR = Box(top=70, left=10, height=20, width=40)
CT_HU = (-1024.0, 3071.0)


@pytest.fixture
def phantom():
    """Background 0.2 with a lesion of 0.6, plus a ±0.05 checkerboard (std exactly 0.05) everywhere."""
    clean = np.full((100, 120), 0.2, np.float32)
    LESION.of(clean)[:] = 0.6
    checker = np.where(np.indices(clean.shape).sum(axis=0) % 2 == 0, 0.05, -0.05).astype(np.float32)
    return clean, clean + checker


def test_snr_and_cnr_match_the_hand_computed_values(phantom):
    _, noisy = phantom
    assert snr(noisy, LESION, AIR) == pytest.approx(0.6 / 0.05, rel=1e-5)
    assert cnr(noisy, LESION, AIR) == pytest.approx((0.6 - 0.2) / 0.05, rel=1e-5)


def test_snr_is_taken_in_source_units_and_cnr_does_not_care(phantom):
    _, noisy = phantom
    lesion_hu, noise_hu = -1024 + 0.6 * 4095, 0.05 * 4095
    assert snr(noisy, LESION, AIR, CT_HU) == pytest.approx(lesion_hu / noise_hu, rel=1e-5)
    rescaled = 0.5 * noisy + 0.25
    assert cnr(rescaled, LESION, AIR) == pytest.approx(cnr(noisy, LESION, AIR), rel=1e-5)


def test_roi_psnr_uses_only_the_region(phantom):
    clean, noisy = phantom
    damaged = noisy.copy()
    damaged[80:, :] = 1.0  # far from the lesion: changes the whole-image PSNR, not the region's
    inside = roi_metrics(clean, damaged, LESION)
    assert inside["mse"] == pytest.approx(0.05 ** 2, rel=1e-5)
    assert inside["mae"] == pytest.approx(0.05, rel=1e-5)
    assert inside["psnr"] == pytest.approx(10 * np.log10(1 / 0.05 ** 2), abs=1e-4)
    assert psnr(clean, damaged) < inside["psnr"] - 3


def test_roi_ssim_is_one_where_the_result_is_exact_and_lower_where_not(phantom):
    clean, noisy = phantom
    result = clean.copy()
    result[80:, :] = noisy[80:, :]  # errors only far (> 10 px) from the lesion
    assert roi_metrics(clean, result, LESION)["ssim"] == pytest.approx(1.0, abs=1e-6)
    assert roi_metrics(clean, noisy, LESION)["ssim"] < 0.9


@pytest.mark.parametrize("box", [Box(90, 0, 20, 20), Box(0, 0, 1, 5), Box(-1, 0, 5, 5), Box(0, 110, 5, 20)])
def test_a_region_outside_the_image_is_one_line(phantom, box):
    clean, noisy = phantom
    with pytest.raises(InvalidParameterError, match="does not fit in the 120×100 image"):
        roi_metrics(clean, noisy, box)
    with pytest.raises(InvalidParameterError, match="^signal"):
        snr(noisy, box, AIR)


def test_a_square_box_is_moved_and_shrunk_into_the_image():
    assert Box.square(90, -5, 20, (100, 100)) == Box(top=0, left=80, height=20, width=20)
    assert Box.square(10, 10, 500, (64, 48)) == Box(top=10, left=0, height=48, width=48)  # 64 rows, 48 columns
    assert Box.square(0, 0, 1, (64, 48), least=4) == Box(0, 0, 4, 4)
    image = np.arange(100 * 100, dtype=np.float32).reshape(100, 100)
    assert Box.square(90, 95, 20, image.shape).of(image).shape == (20, 20)


def test_the_default_background_is_the_flattest_tissue_not_the_air_around_it():
    from denoise_core.metrics import flat_region
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:128, :128]
    disc = ((yy - 64) ** 2 + (xx - 64) ** 2 < 45 ** 2).astype(np.float32)
    phantom = disc * (0.4 + 0.3 * (xx > 64)) + rng.normal(0, 0.01, disc.shape).astype(np.float32) * disc
    phantom[50:70, 80:100] += rng.normal(0, 0.1, (20, 20)).astype(np.float32)  # a rough patch in the right half
    box = flat_region(np.clip(phantom, 0, 1))
    inside = disc[box.top:box.top + box.height, box.left:box.left + box.width]
    assert inside.all()  # in the object, where the air (exactly 0, perfectly flat) would have won
    assert box.of(phantom).std() < 0.02  # a flat part of it, not the rough patch
