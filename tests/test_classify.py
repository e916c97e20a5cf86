"""Noise-type classifier: names synthetic noise on images it never saw, with stated confidence.

The images are crops of scikit-image's camera (gray) and astronaut (colour); the classifier is
trained on train400 and measured on BSD68 (weights/noise_classifier.md), never on these.
"""
import json

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from denoise_core.classifier import inference as classifier
from denoise_core.classifier import training
from denoise_core.classifier.features import features
from denoise_core.apply import add_noise
from denoise_core.cli import main
from denoise_core.errors import InvalidImageError, WeightsError
from denoise_core.classifier.inference import predict as classify
from denoise_core.image import read_image
from denoise_core.weights import sha256

NOISES = {
    "clean": {},
    "gaussian": {"sigma": 15 / 255},
    "salt_pepper": {"amount": 0.05},
    "speckle": {"var": 0.04},
    "poisson": {"peak": 30.0},
    "jpeg": {"quality": 20},
    "scribbles": {"count": 8, "thickness": 2},
    "mixed": {"strength": 0.5},
}
# Measured with the shipped weights: 0.99 or more everywhere but gray Poisson, 0.81 (the tripod's dark
# pixels, zero photons at peak 30, form exact-0 runs that look a little like strokes).
MIN_PROBABILITY = 0.75


@pytest.fixture(scope="module")
def crops():
    return {"gray": data.camera()[:256, 128:384].astype(np.float32) / 255,
            "colour": data.astronaut()[:256, 160:416].astype(np.float32) / 255}


def noisy(image, name, seed=0):
    return training.add_class_noise(image, name, NOISES[name], np.random.default_rng(seed))


@pytest.mark.parametrize("name", NOISES)
@pytest.mark.parametrize("kind", ["gray", "colour"])
def test_names_each_noise_type(crops, kind, name):
    result = classify(noisy(crops[kind], name))
    assert result["type"] == name, result
    assert result["probabilities"][name] > MIN_PROBABILITY, result


def test_probabilities_cover_every_class_and_sum_to_one(crops):
    result = classify(noisy(crops["colour"], "gaussian"))
    assert set(result) == {"type", "probabilities", "level"}
    assert list(result["probabilities"]) == list(classifier.CLASSES)
    assert all(0 <= p <= 1 for p in result["probabilities"].values())
    assert sum(result["probabilities"].values()) == pytest.approx(1.0, abs=1e-9)
    assert result["level"]["sigma"] == pytest.approx(15 / 255, rel=0.15)


@pytest.mark.parametrize("name, key, value, tolerance", [
    ("speckle", "var", 0.04, 0.2), ("poisson", "peak", 30.0, 0.2), ("jpeg", "quality", 20, 0.1)])
def test_type_specific_levels(crops, name, key, value, tolerance):
    result = classify(add_noise(crops["gray"], name, {key: value}, seed=1))
    assert result["type"] == name
    assert result["level"][key] == pytest.approx(value, rel=tolerance)


def test_saved_png_gets_the_same_answer_as_the_array(crops, tmp_path):
    image = noisy(crops["gray"], "poisson")
    path = tmp_path / "noisy.png"
    Image.fromarray(np.round(image * 255).astype(np.uint8)).save(path)
    from_file = classify(read_image(path)[0])
    assert from_file["probabilities"] == pytest.approx(classify(image)["probabilities"], abs=1e-6)


def test_too_small_image_is_refused_clearly():
    with pytest.raises(InvalidImageError, match="16x16 pixels is too small"):
        classify(np.full((16, 16), 0.5, np.float32))


def test_shipped_weights_are_small_and_pinned():
    assert classifier.WEIGHTS_FILE.stat().st_size <= 1024 * 1024
    assert sha256(classifier.WEIGHTS_FILE) == classifier.WEIGHTS_SHA256
    assert classifier.WEIGHTS_FILE.with_suffix(".md").is_file()


def test_missing_or_corrupted_weights_name_the_file(tmp_path):
    missing = tmp_path / "absent.safetensors"
    with pytest.raises(WeightsError, match="absent.safetensors"):
        classifier.load_classifier(missing, classifier.WEIGHTS_SHA256)
    corrupted = tmp_path / "noise_classifier.safetensors"
    content = bytearray(classifier.WEIGHTS_FILE.read_bytes())
    content[-1] ^= 0xFF
    corrupted.write_bytes(bytes(content))
    with pytest.raises(WeightsError, match=f"{corrupted}.*sha256"):
        classifier.load_classifier(corrupted, classifier.WEIGHTS_SHA256)


def test_cli_json_contract_and_table(crops, tmp_path, capsys):
    path = tmp_path / "noisy.png"
    Image.fromarray(np.round(noisy(crops["gray"], "salt_pepper") * 255).astype(np.uint8)).save(path)
    assert main(["classify", str(path), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == ["type", "probabilities", "level"]
    assert result["type"] == "salt_pepper" and set(result["probabilities"]) == set(classifier.CLASSES)
    assert main(["classify", str(path)]) == 0
    table = capsys.readouterr().out
    assert "salt_pepper" in table and "<- type" in table and "level: sigma" in table


@pytest.mark.parametrize("size", [16, None])
def test_cli_bad_input_is_one_line(tmp_path, capsys, size):
    path = tmp_path / "input.png"
    if size:
        Image.fromarray(np.zeros((size, size), np.uint8)).save(path)
    assert main(["classify", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


def test_train_command_writes_loadable_weights(tmp_path):
    folder = tmp_path / "clean"
    folder.mkdir()
    for k, image in enumerate([data.camera(), data.moon(), data.coins()]):
        Image.fromarray(image[:160, :160]).save(folder / f"{k}.png")
    out = tmp_path / "tiny"
    assert main(["train-classifier", "--out", str(out), "--data", str(folder), "--per-class", "2",
                "--val-images", "1", "--val-per-class", "1", "--epochs", "2", "--hidden", "8"]) == 0
    path = out.with_suffix(".safetensors")
    model = classifier.load_classifier(path, sha256(path))
    logits = model(torch.from_numpy(features(data.camera() / 255.0))[None])
    assert logits.shape == (1, len(classifier.CLASSES))
