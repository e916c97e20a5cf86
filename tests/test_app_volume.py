"""AppTest of volumes (NIfTI, multi-frame DICOM): the Slice slider on the Home page and in every page's
sidebar, the slice in the shareable link, NIfTI uploads, and slices that cannot be read."""
import gzip

import numpy as np
import pytest

from denoise_core import samples
from denoise_core.image import read_image
from test_app_downloads import downloaded, media  # noqa: F401  (media: a fixture)
from ui import state

VOLUME = "mri_volume"


@pytest.fixture(scope="module")
def volume():
    """The volume sample as the library reads it: (path, its middle slice's meta)."""
    path = samples.sample_path(VOLUME)
    _, meta = read_image(path)
    assert meta.slices > 20
    return path, meta


def nifti_upload() -> bytes:
    """A small .nii.gz volume: 40×48 slices, 6 of them, each slice a different ramp."""
    import nibabel

    x, y, z = np.meshgrid(np.arange(40), np.arange(48), np.arange(6), indexing="ij")
    data = (10 * x + 3 * y + 200 * z).astype(np.int16)
    return gzip.compress(nibabel.Nifti1Image(data, np.diag([2.0, 2.0, 2.0, 1.0])).to_bytes())


def test_the_volume_sample_has_a_slice_slider_that_changes_the_image_and_the_link(open_page, volume):
    path, meta = volume
    at = open_page("home").run()
    at.button(key=f"w.sample.{VOLUME}").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    slider = at.slider(key="w.slice")
    assert (slider.label, slider.min, slider.max) == ("Slice", 1, meta.slices)
    assert slider.proto.format == f"%d of {meta.slices}"  # shown as "48 of 94", counted from 1
    assert slider.value == meta.slice_index + 1 and at.query_params["slice"] == str(meta.slice_index + 1)
    middle = at.session_state[state.IMAGE].copy()

    slider.set_value(12).run()
    assert not at.exception and not at.error
    expected, _ = read_image(path, slice=11)
    np.testing.assert_array_equal(at.session_state[state.IMAGE], expected)
    assert not np.array_equal(expected, middle)
    assert at.session_state[state.IMAGE_META].slice_index == 11
    assert at.query_params["slice"] == "12" and at.query_params["img"] == VOLUME
    assert any(f"slice 12 of {meta.slices}" in md.value for md in at.markdown)


def test_the_sidebar_slider_keeps_the_display_window_and_follows_across_pages(open_page, volume):
    path, meta = volume
    at = open_page("noise_lab", img=VOLUME).run()
    at.selectbox(key="w.window").set_value("Custom").run()
    at.number_input(key="w.window.centre").set_value(float(meta.value_range[1]) / 3).run()
    window = at.session_state[state.WINDOW]
    before = next(m.value for m in at.metric if m.label.startswith("σ measured"))
    at.slider(key="w.slice").set_value(3).run()  # near the bottom of the head: little tissue
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[state.WINDOW] == window and at.selectbox(key="w.window").value == "Custom"
    np.testing.assert_array_equal(at.session_state[state.IMAGE], read_image(path, slice=2)[0])
    assert next(m.value for m in at.metric if m.label.startswith("σ measured")) != before  # the noise follows
    at.switch_page("pages/3_Pipeline.py").run()
    assert not at.exception
    assert at.slider(key="w.slice").value == 3 and at.query_params["slice"] == "3"


def test_a_link_opens_its_slice(open_page, volume):
    path, _ = volume
    at = open_page("noise_lab", img=VOLUME, slice="7").run()
    assert not at.exception and not at.error
    assert at.slider(key="w.slice").value == 7
    np.testing.assert_array_equal(at.session_state[state.IMAGE], read_image(path, slice=6)[0])


@pytest.mark.parametrize("wanted", ["500", "0", "x"])
def test_a_bad_slice_in_the_link_is_one_error_line_and_the_middle_slice(open_page, volume, wanted):
    path, meta = volume
    at = open_page("noise_lab", img=VOLUME, slice=wanted).run()
    assert not at.exception
    assert len(at.error) == 1 and "\n" not in at.error[0].value, [e.value for e in at.error]
    assert at.error[0].value.startswith(f"Slice {wanted}" if wanted != "x" else "Slice 'x'")
    assert ("out of range" in at.error[0].value) == (wanted != "x")
    np.testing.assert_array_equal(at.session_state[state.IMAGE], read_image(path)[0])
    assert at.query_params["slice"] == str(meta.slice_index + 1)  # the link now says what is shown
    at.run()
    assert not at.error  # said once


def test_a_nifti_upload_gets_the_slider_and_a_slice_that_cannot_be_read_keeps_the_image(open_page):
    data = nifti_upload()
    at = open_page("home").run()
    at.file_uploader(key="w.upload").set_value(("brain.nii.gz", data, "application/gzip")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state[state.SAMPLE] is None and at.query_params["img"] == "upload"
    assert at.slider(key="w.slice").max == 6 and at.query_params["slice"] == "4"
    at.slider(key="w.slice").set_value(2).run()
    np.testing.assert_array_equal(at.session_state[state.IMAGE], read_image(data, name="brain.nii.gz", slice=1)[0])
    assert at.query_params["slice"] == "2"

    shown = at.session_state[state.IMAGE].copy()
    at.session_state[state.SOURCE] = {"name": "brain.nii.gz", "data": data[:200]}  # the kept bytes broke off
    at.slider(key="w.slice").set_value(5).run()
    assert not at.exception
    assert len(at.error) == 1 and at.error[0].value.startswith("Slice 5 could not be read: brain.nii.gz")
    np.testing.assert_array_equal(at.session_state[state.IMAGE], shown)
    assert at.slider(key="w.slice").value == 2 and at.query_params["slice"] == "2"


def test_the_whole_volume_is_denoised_from_the_page_and_downloads_as_nifti(open_page, media):
    import nibabel

    from denoise_core import add_noise, denoise
    from denoise_core.image import to_source_units

    at = open_page("compare", img=VOLUME, m="median", tab="downloads").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.selectbox(key="w.vol.format").options[0] == "NIfTI (.nii.gz)"
    at.button(key="w.vol.run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    name, data = downloaded(at, "w.vol.download", media)
    assert name.endswith("_median_volume.nii.gz")  # the image, the method, the format
    written, source = nibabel.Nifti1Image.from_bytes(gzip.decompress(data)), nibabel.load(samples.sample_path(VOLUME))
    assert written.shape == source.shape and np.allclose(written.affine, source.affine)
    image, meta = read_image(samples.sample_path(VOLUME), slice=10)
    got, got_meta = read_image(data, name="v.nii.gz", slice=10)
    noisy = add_noise(image, "gaussian", {}, seed=10)  # the page's noise (σ 25/255, seed 0) + the slice's index
    expected = to_source_units(denoise(noisy, "median"), meta)  # with the auto median of its own level
    assert np.abs(to_source_units(got, got_meta) - expected).max() <= 1.0  # within one stored level
    scores = next(d.value for d in at.dataframe if "noisy PSNR (dB)" in d.value.columns)
    assert list(scores["slice"]) == list(range(1, meta.slices + 1))
    assert (scores["PSNR (dB)"] > scores["noisy PSNR (dB)"]).mean() > 0.9  # the median helps almost every slice
    whole = float(next(m.value for m in at.metric if m.label == "PSNR over the whole volume").split()[0])
    assert scores["PSNR (dB)"].min() - 0.01 <= whole <= scores["PSNR (dB)"].max() + 0.01
