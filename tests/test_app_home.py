"""AppTest of the home page: gallery, upload box, chosen image persisting across pages."""
import numpy as np

from denoise_core.image import ImageMeta
from conftest import open_tab
from ui import image_input, state


def test_home_runs_and_shows_gallery_and_upload(open_page, small_sample):
    at = open_page("home").run()
    assert not at.exception
    assert at.title[0].value.endswith("Denoise Workbench")
    sample_buttons = [b for b in at.button if b.key and b.key.startswith("w.sample.")]
    assert len(sample_buttons) >= 2
    assert at.radio(key="w.upload.reference").value.startswith("clean")
    assert at.session_state[state.SAMPLE] == small_sample


def test_choosing_a_sample_persists_across_pages(open_page, small_sample):
    at = open_page("home").run()
    other = next(b for b in at.button if b.key.startswith("w.sample.") and b.key != f"w.sample.{small_sample}")
    name = other.key.removeprefix("w.sample.")
    other.click().run()
    assert not at.exception
    assert at.session_state[state.SAMPLE] == name
    assert at.query_params["img"] == name
    at.switch_page("pages/1_Noise_Lab.py").run()
    assert not at.exception
    assert at.session_state[state.SAMPLE] == name
    assert at.session_state[state.IMAGE].shape == at.session_state[state.IMAGE].shape


def test_large_images_are_offered_downscale_or_crop_not_cut():
    image = np.random.default_rng(0).random((3000, 2000), dtype=np.float32)
    small = image_input.downscale(image)
    assert max(small.shape) == image_input.MAX_SIDE and abs(small.shape[1] / small.shape[0] - 2 / 3) < 0.01
    crop = image_input.crop_center(image, 1.0, 0.0)
    assert crop.shape == (1024, 1024)
    np.testing.assert_array_equal(crop, image[:1024, -1024:])


def test_large_upload_waits_for_a_decision(open_page):
    at = open_page("home").run()
    meta = ImageMeta(name="big.png", format="PNG", bit_depth=8, value_range=(0, 255), color=False, modality=None)
    at.session_state[state.PENDING] = {"image": np.zeros((1500, 1200), np.float32), "meta": meta, "has_clean": True}
    at.run()
    assert not at.exception
    assert any("1200×1500" in w.value for w in at.warning)
    at.radio(key="w.large.choice").set_value(at.radio(key="w.large.choice").options[0])
    at.button(key="w.large.apply").click().run()
    assert not at.exception
    assert at.session_state[state.IMAGE].shape == (1024, 819)
    assert at.session_state[state.PENDING] is None


def _tiff16(height: int, width: int) -> bytes:
    import io

    import tifffile

    ramp = np.linspace(0, 65535, height * width).reshape(height, width).astype(np.uint16)
    buffer = io.BytesIO()
    tifffile.imwrite(buffer, ramp)
    return buffer.getvalue()


def test_uploading_a_16_bit_noisy_tiff_without_reference(open_page):
    at = open_page("home").run()
    at.radio(key="w.upload.reference").set_value(at.radio(key="w.upload.reference").options[1])
    at.file_uploader(key="w.upload").set_value(("scan.tif", _tiff16(96, 120), "image/tiff")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[state.IMAGE].shape == (96, 120)
    assert at.session_state[state.HAS_CLEAN] is False and at.session_state[state.SAMPLE] is None
    assert at.query_params["img"] == "upload" and at.query_params["ref"] == "none"
    at.switch_page("pages/2_Denoise_and_Compare.py").run()
    assert not at.exception
    open_tab(at, "downloads")
    labels = [b.label for b in at.get("download_button")]
    assert any("Median" in label for label in labels)
    assert at.radio(key="w.dl.format").value == "TIFF 16-bit"  # a deep upload keeps its depth by default


def test_a_large_upload_is_not_cut_silently(open_page):
    at = open_page("home").run()
    at.file_uploader(key="w.upload").set_value(("big.tif", _tiff16(1100, 1300), "image/tiff")).run()
    assert not at.exception
    assert at.session_state[state.IMAGE].shape != (1100, 1300)  # not taken in yet: waiting for a decision
    assert any("1300×1100" in w.value for w in at.warning)


def test_a_bad_upload_is_one_error_line_and_keeps_the_current_image(open_page):
    at = open_page("home").run()
    before = at.session_state[state.IMAGE].copy()
    at.file_uploader(key="w.upload").set_value(("scan.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "image/png")).run()
    assert not at.exception
    assert len(at.error) == 1 and "scan.png" in at.error[0].value and "\n" not in at.error[0].value
    np.testing.assert_array_equal(at.session_state[state.IMAGE], before)


def test_the_already_noisy_choice_stays_with_the_upload_across_pages(open_page):
    at = open_page("home").run()
    noisy = at.radio(key="w.upload.reference").options[1]
    at.radio(key="w.upload.reference").set_value(noisy)
    at.file_uploader(key="w.upload").set_value(("scan.tif", _tiff16(96, 120), "image/tiff")).run()
    at.switch_page("pages/1_Noise_Lab.py").run()
    at.switch_page("app.py").run()
    assert not at.exception and at.session_state[state.HAS_CLEAN] is False
    assert at.radio(key="w.upload.reference").value == noisy


def test_a_new_image_does_not_inherit_the_ct_scanner_noise(open_page):
    at = open_page("home", img="ct", noise="ct_lowdose").run()
    assert at.session_state[state.NOISE] == "ct_lowdose"
    at.button(key="w.sample.camera").click().run()
    assert not at.exception and at.session_state[state.SAMPLE] == "camera"
    assert at.session_state[state.NOISE] == "gaussian" and at.query_params["noise"] == "gaussian"
    at.button(key="w.sample.mri").click().run()
    at.button(key="w.sample.ct").click().run()  # noise made for any image stays as it is
    assert at.session_state[state.NOISE] == "gaussian"


def test_a_new_upload_after_the_ct_scanner_noise_starts_from_the_default_noise(open_page):
    at = open_page("home", img="ct", noise="ct_lowdose").run()
    at.file_uploader(key="w.upload").set_value(("photo.tif", _tiff16(96, 120), "image/tiff")).run()
    assert not at.exception and at.session_state[state.SAMPLE] is None
    assert at.session_state[state.NOISE] == "gaussian"
