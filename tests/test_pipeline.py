"""The automatic pipeline: rule table, stages, overrides, record, super-resolution, CLI."""
import json
import subprocess
import sys
from pathlib import Path
from unittest.mock import ANY

import numpy as np
import pytest
from skimage import data, img_as_float32

from denoise_core import add_noise, denoise, pipeline, registry, weights
from denoise_core.classifier.inference import CLASSES
from denoise_core.errors import InvalidParameterError
from denoise_core.image import read_image, save_image, to_source_units

ROOT = Path(__file__).resolve().parents[1]
CAMERA = np.ascontiguousarray(img_as_float32(data.camera())[64:192, 192:320])


def psnr(x, y):
    return float(10 * np.log10(1 / np.mean((np.clip(x, 0, 1).astype(np.float64) - y) ** 2)))


def test_every_noise_type_has_a_route_of_registered_methods():
    assert set(pipeline.ROUTES) == set(CLASSES) | set(pipeline.CHOSEN_ONLY)
    for noise_type in pipeline.ROUTES:
        assert all(method in registry.names("denoiser") for method, _ in pipeline.route(noise_type)), noise_type


def test_salt_and_pepper_is_found_and_removed():
    noisy = add_noise(CAMERA, "salt_pepper", {"amount": 0.1}, seed=5)
    calls = []
    result = pipeline.run(noisy, on_stage=lambda *args: calls.append(args))
    assert result.classification["type"] == "salt_pepper"
    assert [s.stage for s in result.stages] == ["input", "denoise"]
    assert psnr(result.image, CAMERA) >= psnr(noisy, CAMERA) + 16.0  # measured +18.35 dB (adaptive median)
    assert calls == [(f"Denoising with {result.stages[1].method}", 1, 2)]


def test_gaussian_noise_is_routed_to_bm3d_at_the_estimated_sigma():
    noisy = add_noise(CAMERA, "gaussian", {"sigma": 25 / 255}, seed=1)
    result = pipeline.run(noisy)
    stage = result.stages[1]
    assert result.classification["type"] == "gaussian" and stage.method == "bm3d"
    assert abs(stage.params["sigma"] * 255 - 25) < 3
    assert psnr(result.image, CAMERA) >= psnr(noisy, CAMERA) + 8.4  # measured +8.96 dB


def test_speckle_is_denoised_at_its_rms_level_not_the_flat_area_estimate():
    noisy = add_noise(CAMERA, "speckle", {"var": 0.05}, seed=4)
    result = pipeline.run(noisy, denoisers=["bm3d"])  # the classical route (the specialist takes var itself)
    assert result.classification["type"] == "speckle"
    # measured: pipeline 27.64 dB, BM3D at the flat-area estimate 18.90, noisy 18.51
    assert psnr(result.image, CAMERA) >= psnr(denoise(noisy, "bm3d"), CAMERA) + 7.0


def test_jpeg_artefacts_are_reduced_not_added_to():
    noisy = add_noise(CAMERA, "jpeg", {"quality": 20}, seed=1)
    result = pipeline.run(noisy)
    assert result.classification["type"] == "jpeg" and result.stages[-1].method == "tv"
    assert psnr(result.image, CAMERA) >= psnr(noisy, CAMERA) + 0.12  # measured +0.24 dB


def test_overrides_sharpening_and_super_resolution_are_recorded():
    noisy = add_noise(CAMERA, "gaussian", {"sigma": 10 / 255}, seed=2)
    result = pipeline.run(noisy, noise_type="salt_pepper", denoisers=["median", "gaussian"],
                          params={"median": {"size": 5}}, sharpen={"amount": 0.5}, sr="x2", sr_method="bicubic")
    record = json.loads(json.dumps(result.record()))
    assert [s["method"] for s in record["stages"]] == ["classify", "median", "gaussian", "unsharp_mask", "bicubic"]
    assert record["stages"][1]["params"] == {"size": 5}
    assert record["stages"][3]["params"]["amount"] == 0.5
    assert "salt_pepper" in record["stages"][0]["reason"]
    assert result.image.shape == (256, 256) and result.image.dtype == np.float32
    assert all(s["seconds"] >= 0 for s in record["stages"])


def test_a_clean_image_is_left_alone():
    result = pipeline.run(CAMERA, noise_type="clean")
    assert len(result.stages) == 1 and np.array_equal(result.image, CAMERA)


def test_bad_choices_are_refused():
    with pytest.raises(InvalidParameterError, match="x8"):
        pipeline.run(CAMERA, sr="x8")
    with pytest.raises(InvalidParameterError, match="unknown noise type"):
        pipeline.run(CAMERA, noise_type="rain")


def test_cli_pipeline_super_resolves_a_64px_crop_with_real_esrgan(tmp_path):
    source = tmp_path / "crop.png"
    save_image(source, add_noise(CAMERA[:64, :64], "gaussian", {"sigma": 15 / 255}, seed=0))
    out = tmp_path / "out.png"
    done = subprocess.run([sys.executable, "-m", "denoise_core", "pipeline", str(source), str(out), "--sr", "x4",
                           "--json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["stages"][-1]["method"] == "realesrgan" and record["stages"][-1]["shape"] == [256, 256]
    assert read_image(out)[0].shape == (256, 256)


def test_cli_pipeline_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    done = subprocess.run([sys.executable, "-m", "denoise_core", "pipeline", str(bad), str(tmp_path / "o.png")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1


def test_every_margin_names_a_model_a_route_and_images_held_apart_from_the_choice():
    for (model, noise_type), margin in pipeline.MARGINS.items():
        assert model in weights.CATALOG and noise_type in pipeline.ROUTES, (model, noise_type)
        assert "set12" not in margin.measured.lower() and " on " in f" {margin.measured}", margin


def test_a_specialist_takes_its_route_only_with_a_positive_measured_margin(monkeypatch):
    monkeypatch.setitem(pipeline.MARGINS, ("ffdnet_poisson", "poisson"), pipeline.Margin(-0.21, "on 12 test images"))
    [(method, reason)] = pipeline.route("poisson")
    assert method == "bm3d" and reason.endswith("; ffdnet_poisson stays out: -0.21 dB over bm3d on 12 test images")
    monkeypatch.setitem(pipeline.MARGINS, ("ffdnet_poisson", "poisson"), pipeline.Margin(0.33, "on 12 test images"))
    assert pipeline.route("poisson") == [("ffdnet_poisson", "ffdnet_poisson, trained for poisson noise, "
                                                             "+0.33 dB over bm3d on 12 test images")]
    monkeypatch.setitem(pipeline.ROUTES, "poisson", pipeline.Route(("bm3d",), "photon noise", specialist="absent"))
    monkeypatch.setitem(pipeline.MARGINS, ("absent", "poisson"), pipeline.Margin(1.0, "on 12 test images"))
    assert pipeline.route("poisson") == [("bm3d", "photon noise")]  # no weights registered: no route


MODALITY_MODELS = [("CT", "ffdnet_ct"), ("MR", "ffdnet_mri"), ("CR", "ffdnet_xray"), ("DX", "ffdnet_xray"),
                   ("X-ray", "ffdnet_xray"), ("MRI", "ffdnet_mri")]


@pytest.mark.parametrize("modality, model", MODALITY_MODELS)
def test_gaussian_noise_on_a_medical_image_goes_to_bm3d_where_its_model_measured_below_it(modality, model,
                                                                                          monkeypatch):
    monkeypatch.setitem(pipeline.MARGINS, (model, "gaussian"), pipeline.Margin(-0.58, "on 2 held-out slices"))
    [(method, reason)] = pipeline.plan("gaussian", modality=modality)
    assert method == "bm3d" and reason.endswith(f"; {model} stays out: -0.58 dB over bm3d on 2 held-out slices")


@pytest.mark.parametrize("modality, model", MODALITY_MODELS)
def test_a_modality_model_with_a_positive_measured_margin_takes_the_route(modality, model, monkeypatch):
    monkeypatch.setitem(pipeline.MARGINS, (model, "gaussian"), pipeline.Margin(0.42, "on 6 held-out slices at σ25"))
    [(method, reason)] = pipeline.plan("gaussian", modality=modality)
    assert method == model and reason.startswith(f"{modality} image (its modality tag): {model}")
    assert reason.endswith("+0.42 dB over bm3d on 6 held-out slices at σ25")
    assert pipeline.plan("gaussian", ["median"], modality=modality) == [("median", "chosen by the user")]
    for noise_type in ("mixed", "salt_pepper", "scribbles"):  # never measured for the modality models: the table's
        assert pipeline.plan(noise_type, modality=modality) == pipeline.route(noise_type)


@pytest.mark.parametrize("modality, model", MODALITY_MODELS)
def test_the_measured_table_decides_each_modality_route(modality, model):
    for noise_type in ("gaussian", "poisson"):
        margin = pipeline.MARGINS[(model, noise_type)]
        [(method, reason)] = pipeline.plan(noise_type, modality=modality)
        assert (method == model) == (margin.db > 0) and f"{margin.db:+.2f} dB over bm3d" in reason


@pytest.mark.parametrize("modality", [None, "", "US", "OT", "PT"])
def test_without_a_trained_modality_the_table_applies(modality):
    assert pipeline.plan("gaussian", modality=modality) == pipeline.route("gaussian")


def test_the_user_can_name_low_dose_ct_noise_which_the_classifier_does_not():
    [(method, reason)] = pipeline.plan("ct_lowdose", modality="CT")
    margin = pipeline.MARGINS[("ffdnet_ct_lowdose", "ct_lowdose")]
    assert method == "ffdnet_ct_lowdose" and "ct_lowdose noise" in reason and margin.db > 0
    assert f"{margin.db:+.2f} dB over bm3d {margin.measured}" in reason
    assert pipeline.plan("ct_lowdose", modality="MR") == pipeline.plan("ct_lowdose") == [("bm3d", ANY)]


def low_dose_ct_dicom(folder: Path) -> tuple[Path, np.ndarray, object]:
    """The CT sample with low-dose CT noise (10⁴ photons, seed 0), saved as a DICOM; and the clean slice."""
    clean, meta = read_image(ROOT / "sample_images" / "ct_small.dcm")
    source = folder / "lowdose.dcm"
    save_image(source, add_noise(clean, "ct_lowdose", {"photons": 1e4}, seed=0), meta=meta)
    return source, clean, meta


def test_a_low_dose_ct_dicom_classified_as_gaussian_goes_where_the_table_says(tmp_path):
    noisy, meta = read_image(low_dose_ct_dicom(tmp_path)[0])
    result = pipeline.run(noisy, modality=meta.modality)
    kind = result.classification["type"]
    assert meta.modality == "CT" and kind == "gaussian"
    assert [(s.method, s.reason) for s in result.stages[1:]] == pipeline.plan(kind, modality="CT")


# measured: noisy 27.53 dB, BM3D at the estimated sigma 34.59 (30.60 with the white-noise estimate, which
# misses most of the correlated FBP noise), told the noise is low-dose CT (the low-dose CT model, a route
# the table keeps) 35.60
def test_cli_pipeline_denoises_a_low_dose_ct_dicom_with_the_low_dose_ct_model(tmp_path):
    source, clean, meta = low_dose_ct_dicom(tmp_path)
    out = tmp_path / "out.dcm"
    done = subprocess.run([sys.executable, "-m", "denoise_core", "pipeline", str(source), str(out), "--json",
                           "--type", "ct_lowdose"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["modality"] == "CT" and [s["method"] for s in record["stages"]] == ["classify", "ffdnet_ct_lowdose"]
    restored, out_meta = read_image(out)
    assert out_meta.modality == "CT" and out_meta.units == "HU"
    low, high = meta.value_range  # compare in HU, on the clean slice's [0, 1] scale: each file maps its own range

    def on_clean_scale(image, image_meta):
        return ((to_source_units(image, image_meta) - low) / (high - low)).astype(np.float32)

    read_noisy, noisy_meta = read_image(source)
    bm3d = on_clean_scale(denoise(read_noisy, "bm3d"), noisy_meta)
    assert psnr(on_clean_scale(restored, out_meta), clean) >= psnr(bm3d, clean) + 0.8
