"""AppTest of the Model Lab: card, curves, size, timing and feature maps of a learned denoiser."""
from pathlib import Path

import pytest

from denoise_core import learned, registry

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def model_lab(small_sample, monkeypatch):
    from streamlit.testing.v1 import AppTest
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.switch_page("pages/5_Model_Lab.py")
    at.query_params["img"] = small_sample
    return at


def test_uploaded_dncnn_weights_become_a_learned_denoiser(model_lab, tmp_path, monkeypatch):
    import io

    import torch

    from denoise_core.models import DnCNN

    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path))
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))  # forget the import afterwards
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
    assert any("weights import" in info.value for info in at.info)


def test_model_lab_shows_the_default_model_and_times_it(model_lab):
    at = model_lab.run()
    assert not at.exception
    assert at.selectbox(key="w.ml.model").value == learned.DEFAULT_GRAY
    assert any(m.label == "Parameters" for m in at.metric)
    assert any("## Training" in md.value and "python -m denoise_core train" in md.value for md in at.markdown)
    assert len(at.get("plotly_chart")) == 1
    at.selectbox(key="w.ml.layer").set_value("body.0").run()
    at.button(key="w.ml.time").click().run()
    assert not at.exception
    assert any(m.label == "CPU time" for m in at.metric)
    assert len(at.get("imgs")) >= 1 or len(at.get("image")) >= 1
