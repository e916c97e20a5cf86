"""AppTest of the Model Lab: card, curves, size, timing and feature maps of a learned denoiser."""
import io
import json
import tempfile
import uuid
import warnings
from pathlib import Path

import pytest
import torch
from bad_weights import BAD_FILES, published_dncnn

from denoise_core import registry
from denoise_core.methods import learned

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def model_lab(open_page):
    return open_page("model_lab")


def test_uploaded_dncnn_weights_become_a_learned_denoiser(model_lab, tmp_path, monkeypatch):
    import io

    import torch

    from denoise_core.models import DnCNN

    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())  # forget the import afterwards
    published = DnCNN(depth=5, width=16, batch_norm=False).state_dict()  # the merged 'model.N.*' layout
    buffer = io.BytesIO()
    torch.save({k.replace("dncnn.", "model."): v for k, v in published.items()}, buffer)
    at = model_lab.run()
    at.file_uploader(key="w.ml.upload").set_value(("dncnn_theirs.pth", buffer.getvalue(), "application/octet-stream"))
    at.text_input(key="w.ml.upload_name").set_value("their_dncnn").run()
    at.button(key="w.ml.import").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "their_dncnn" in registry.names("denoiser")
    assert at.selectbox(key="w.ml.model").value == "their_dncnn"
    assert any(m.label == "Parameters" and m.value == f"{sum(v.numel() for v in published.values()):,}"
               for m in at.metric)


def test_a_pickle_that_is_not_weights_is_one_error_line(model_lab, tmp_path, monkeypatch):
    import pickle

    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path))
    at = model_lab.run()
    at.file_uploader(key="w.ml.upload").set_value(("evil.pth", pickle.dumps({"x": print}), "application/octet-stream"))
    at.text_input(key="w.ml.upload_name").set_value("evil").run()
    at.button(key="w.ml.import").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "evil.pth" in at.error[0].value and "weights_only" in at.error[0].value


def test_model_lab_without_models_explains_how_to_get_one(model_lab, monkeypatch):
    from denoise_core import registry as reg
    others = [m for m in reg.methods("denoiser") if m.family != "learned"]
    monkeypatch.setattr(reg, "methods", lambda kind=None: others if kind == "denoiser" else [])
    at = model_lab.run()
    assert not at.exception
    assert any("weights import" in info.value and "download a published model" in info.value for info in at.info)
    assert at.selectbox(key="w.ml.model").value == "kair_dncnn_15"  # the first published model, to download
    assert at.button(key="w.ml.fetch.kair_dncnn_15").label == "Download (≈2.2 MB)"


def test_model_lab_shows_the_default_model_and_times_it(model_lab):
    at = model_lab.run()
    assert not at.exception
    assert at.selectbox(key="w.ml.model").value == learned.DEFAULT_GRAY
    assert any(m.label == "Parameters" for m in at.metric)
    assert any("## Training" in md.value and "python -m denoise_core train" in md.value for md in at.markdown)
    assert len(at.get("plotly_chart")) == 1
    layers = at.selectbox(key="w.ml.layer").options
    at.selectbox(key="w.ml.layer").set_value(layers[-1]).run()
    at.button(key="w.ml.time").click().run()
    assert not at.exception
    assert any(m.label == "CPU time" for m in at.metric)
    assert len(at.get("imgs")) >= 1 or len(at.get("image")) >= 1


def upload(at, filename: str, data: bytes, name: str):
    """Upload ``data`` as ``filename``, name it ``name`` and press Import."""
    at.file_uploader(key="w.ml.upload").set_value((filename, data, "application/octet-stream"))
    at.text_input(key="w.ml.upload_name").set_value(name).run()
    return at.button(key="w.ml.import").click().run()


def dncnn_bytes(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    torch.manual_seed(seed)
    torch.save(published_dncnn(), buffer)
    return buffer.getvalue()


@pytest.fixture
def fresh(tmp_path, monkeypatch):
    """An empty cache folder and a registry that forgets what the test imports."""
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(registry, "REGISTRY", registry.REGISTRY.copy())
    return tmp_path / "cache"


@pytest.mark.parametrize("absolute", [False, True], ids=["climbing", "absolute"])
def test_an_uploaded_file_name_never_becomes_a_path(model_lab, fresh, absolute):
    target = Path(tempfile.gettempdir()) / f"planted_{uuid.uuid4().hex}.pth"
    filename = str(target) if absolute else "../" * 12 + str(target).lstrip("/")
    try:
        at = upload(model_lab.run(), filename, dncnn_bytes(), "planted")
        assert not target.exists(), f"the upload was written to {target}"
    finally:
        target.unlink(missing_ok=True)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "planted" in registry.names("denoiser") and at.selectbox(key="w.ml.model").value == "planted"
    assert sorted(p.name for p in (fresh / "weights").iterdir()) == ["catalog.json", "planted.safetensors"]
    assert json.loads((fresh / "weights" / "catalog.json").read_text())[0]["title"] == \
        f"planted (imported from {target.name})"


@pytest.mark.parametrize("file", ["garbage.safetensors", "truncated.safetensors", "bad_metadata_json.safetensors",
                                  "malicious.pth", "malicious_plain_pickle.pth", "too_few_layers.pth",
                                  "non_tensor_values.pth", "zero_sized.pth"])
def test_a_bad_weights_upload_is_one_error_line(model_lab, fresh, tmp_path, file):
    at = model_lab.run()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        at = upload(at, file, BAD_FILES[file](tmp_path / "pwned"), "bad_upload")
    assert not at.exception and [str(w.message) for w in caught] == []
    assert len(at.error) == 1 and at.error[0].value.startswith(f"{file}: ") and "\n" not in at.error[0].value
    assert not (tmp_path / "pwned").exists() and not (fresh / "weights").exists()


def test_importing_the_same_name_twice_replaces_the_first(model_lab, fresh):
    at = upload(model_lab.run(), "first.pth", dncnn_bytes(), "twice_dncnn")
    assert not at.exception and not at.error
    first = (fresh / "weights" / "twice_dncnn.safetensors").read_bytes()
    at = upload(at, "second.pth", dncnn_bytes(seed=1), "twice_dncnn")
    assert not at.exception and not at.error
    assert any("Replaced twice_dncnn" in success.value for success in at.success)
    assert (fresh / "weights" / "twice_dncnn.safetensors").read_bytes() != first
    assert at.selectbox(key="w.ml.model").value == "twice_dncnn" and registry.names("denoiser").count("twice_dncnn") == 1
    at = upload(at, "third.pth", dncnn_bytes(), "median")
    assert len(at.error) == 1 and "'median' is already a denoiser" in at.error[0].value


def test_a_corrupt_catalog_of_imported_weights_is_one_error_line(model_lab, fresh):
    (fresh / "weights").mkdir(parents=True)
    (fresh / "weights" / "catalog.json").write_text('[{"name": "half')
    at = model_lab.run()
    assert not at.exception
    assert len(at.error) == 1 and "catalog.json: unreadable catalog" in at.error[0].value


def test_an_overview_sets_every_model_beside_the_others_with_its_psnr_measured_here(open_page):
    from denoise_core import registry, weights
    at = open_page("model_lab").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "made by" in d.value.columns).set_index("name")
    learned_here = [m.name for m in registry.methods("denoiser") if m.family == "learned"]
    assert set(learned_here) <= set(table.index) and set(weights.ZOO) <= set(table.index)
    assert table.loc["drunet_gray_blind", "BSD68 σ25"] == 28.93 and table.loc["drunet_gray_blind", "made by"] == "this project"
    assert table.loc["kair_dncnn_25", "status"].startswith("downloadable")
