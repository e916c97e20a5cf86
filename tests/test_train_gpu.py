"""scripts/pack_training_data.py and scripts/train_gpu.sh on a CPU: a tiny pack, a tiny budget, every output."""
import io
import json
import math
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors import safe_open

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import pack_training_data  # noqa: E402

FLAGSHIPS = ("drunet_gray_blind", "drunet_color_blind")


def _image(rng, shape) -> np.ndarray:
    y, x = np.mgrid[0:shape[0], 0:shape[1]] / shape[0]
    smooth = 0.5 + 0.3 * np.sin(5 * x + rng.uniform(0, 6)) * np.cos(4 * y)
    image = smooth[..., None] * rng.uniform(0.6, 1.0, size=shape[2:] or (1,))
    return (np.clip(image + 0.05 * rng.random(image.shape), 0, 1) * 255).astype(np.uint8).squeeze()


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    """A stand-in for the shared data (train400/, cbsd432/) and for training_data/medical."""
    root = tmp_path_factory.mktemp("sources")
    rng = np.random.default_rng(0)
    folders = {"data/train400": (10, (64, 64), "png"), "data/cbsd432": (12, (64, 72, 3), "jpg"),
               **{f"medical/{m}/train": (5, (64, 64), "png") for m in ("ct", "mri", "xray")}}
    for folder, (count, shape, suffix) in folders.items():
        (root / folder).mkdir(parents=True)
        for i in range(count):
            Image.fromarray(_image(rng, shape)).save(root / folder / f"img_{i:03d}.{suffix}")
    return root


@pytest.fixture(scope="module")
def packed(sources, tmp_path_factory):
    out = tmp_path_factory.mktemp("packed") / "packed"
    code = pack_training_data.main(["--data", str(sources / "data"), "--medical", str(sources / "medical"),
                                    "--out", str(out), "--photos", "10"])
    assert code == 0
    return out


def test_the_pack_holds_each_folder_and_a_seeded_photo_subset(sources, packed, tmp_path):
    manifest = json.loads((packed / "manifest.json").read_text())
    assert {name: item["images"] for name, item in manifest.items()} == {
        "train400": 10, "cbsd432": 10, "medical/ct": 5, "medical/mri": 5, "medical/xray": 5}
    photos = sorted(p.name for p in (packed / "cbsd432").iterdir())
    assert len(photos) == 10 and set(photos) < {f"img_{i:03d}.jpg" for i in range(12)}
    original = sources / "data" / "cbsd432" / photos[0]
    assert (packed / "cbsd432" / photos[0]).read_bytes() == original.read_bytes()  # copied, not re-encoded
    assert manifest["cbsd432"]["bytes"] == sum(p.stat().st_size for p in (packed / "cbsd432").iterdir())
    other = pack_training_data.photo_subset(sources / "data" / "cbsd432", 10, seed=1)
    assert [p.name for p in pack_training_data.photo_subset(sources / "data" / "cbsd432", 10, seed=0)] == photos
    assert [p.name for p in other] != photos


def test_the_packer_refuses_in_one_line(sources, tmp_path, capsys):
    base = ["--data", str(sources / "data"), "--medical", str(sources / "medical")]
    assert pack_training_data.main([*base[:2], "--medical", str(tmp_path / "none"), "--out", str(tmp_path / "a")]) == 2
    assert pack_training_data.main([*base, "--out", str(tmp_path / "b"), "--photos", "13"]) == 2
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "notes.txt").write_text("mine")
    assert pack_training_data.main([*base, "--out", str(tmp_path / "c"), "--photos", "2"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3 and "make_medical_data.py" in lines[0] and "--photos 13" in lines[1]
    assert "not a pack" in lines[2] and (tmp_path / "c" / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def _run(*args, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OUT": str(out), "PYTHON": sys.executable}
    return subprocess.run(["bash", str(ROOT / "scripts" / "train_gpu.sh"), *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_a_tiny_budget_on_the_cpu_trains_both_flagships_and_packs_every_output(packed, tmp_path):
    done = _run("--minutes", "0.2", "--data", str(packed), out=tmp_path / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    parts = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in parts] == [f"train_gpu.tar.gz.part{i}" for i in range(len(parts))]  # 15 MiB pieces
    assert all(p.stat().st_size <= 15 * 2**20 for p in parts)
    archive = tarfile.open(fileobj=io.BytesIO(b"".join(p.read_bytes() for p in parts)), mode="r:gz")
    members = {m.name for m in archive.getmembers() if m.isfile()}
    assert members == {"summary.json", "summary.md", *(f"weights/{n}.{s}" for n in FLAGSHIPS for s in ("safetensors", "csv")),
                       *(f"logs/{n}.log" for n in FLAGSHIPS)}
    summary = json.loads(archive.extractfile("summary.json").read())
    assert summary["device"] == "cpu" and summary["minutes"] == 0.2 and summary["data"]["cbsd432"]["images"] == 10
    jobs = {job["name"]: job for job in summary["jobs"]}
    assert list(jobs)[:2] == list(FLAGSHIPS) and "ffdnet_mixed" in jobs and len(jobs) >= 10
    for name in FLAGSHIPS:
        job = jobs[name]
        assert job["status"] == "trained" and job["device"] == "cpu" and job["amp"] is False
        assert math.isfinite(job["val_psnr"]) and 5 < job["val_psnr"] < 60 and job["steps"] >= 1
        curves = archive.extractfile(f"weights/{name}.csv").read().decode().splitlines()
        assert curves[0] == "step,seconds,lr,train_loss,val_psnr"
        assert float(curves[-1].split(",")[-1]) == pytest.approx(job["val_psnr"], abs=1e-3)
        weights = tmp_path / f"{name}.safetensors"
        weights.write_bytes(archive.extractfile(f"weights/{name}.safetensors").read())
        with safe_open(str(weights), "pt") as handle:
            meta = handle.metadata()
            assert meta["steps"] == str(job["steps"]) and meta["device"] == "cpu" and handle.keys()
        assert json.loads(meta["train_config"])["init"] == f"weights/{name}.safetensors"
    assert all(job["status"].startswith("not run") for job in summary["jobs"] if job["role"] == "fill")
    table = archive.extractfile("summary.md").read().decode()
    assert f"| {FLAGSHIPS[0]} | trained | {jobs[FLAGSHIPS[0]]['val_psnr']:.2f} |" in table


@pytest.mark.parametrize("args, message", [(["--minutes", "0"], "above 0"), (["--parallel", "x"], "--parallel"),
                                           (["--data", "/no/such/pack"], "pack_training_data.py first")])
def test_bad_input_is_one_line(args, message, tmp_path):
    done = _run(*args, out=tmp_path / "out")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and message in done.stderr
