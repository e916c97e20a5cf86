"""Reproducible bundles: a comparison and a benchmark run verify; a changed number, a missing method or weights file,
another schema, a hostile or oversized member are each named; DICOM sources are de-identified."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pandas as pd
import pydicom
import pytest

from denoise_core import bundle, estimate
from denoise_core.apply import add_noise, denoise
from denoise_core.benchmark import run
from denoise_core.benchmark.store import Store
from denoise_core.cli import main
from denoise_core.metrics import measure
from denoise_core.samples import load_sample
from test_benchmark import small_config, write_images

NOISE = {"sigma": 25 / 255, "clip": True}
METHODS = {"median": {"size": 3}, "gaussian": {"width": 1.0}}


def compare_zip(sample: str, *, deidentify_key: str | None = None, noise: str = "gaussian", seed: int = 3) -> bytes:
    """A bundle of Denoise & Compare on ``sample``: the noisy input and two methods, scored as the page scores them."""
    clean, meta = load_sample(sample)
    params = {**NOISE} if noise == "gaussian" else {"amount": 0.05, "salt_ratio": 0.5}
    noisy = add_noise(clean, noise, params, seed=seed)
    shots = [bundle.Shot(bundle.NOISY, None, {}, noisy, float("nan"), measure(clean, noisy))]
    for name, values in METHODS.items():
        out = denoise(noisy, name, values, auto=False)
        shots.append(bundle.Shot(name, name, values, out, 0.01, measure(clean, out)))
    view = {"img": sample, "noise": noise, "seed": str(seed), "m": list(METHODS), "tab": "zoom",
            **{f"n.{k}": str(v).lower() if isinstance(v, bool) else f"{v:.6g}" for k, v in params.items()},
            **{f"d.{m}.{k}": f"{v:g}" for m, values in METHODS.items() for k, v in values.items()}}
    return bundle.compare_bundle(bundle.Input("compare", meta.name, clean, meta, sample), shots, noise=noise,
                                 noise_params=params, seed=seed, view=view, deidentify_key=deidentify_key)


def verify(path, capsys, *options: str) -> tuple[int, str, str]:
    """``bundle verify PATH``: (exit code, stdout, stderr)."""
    try:
        code = main(["bundle", "verify", str(path), *options])
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


def rewrite(data: bytes, name: str, change) -> bytes:
    """``data`` with member ``name``'s bytes replaced by ``change(old bytes)``."""
    source, buffer = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            member = source.read(info.filename)
            target.writestr(info.filename, change(member) if info.filename == name else member)
    return buffer.getvalue()


def edit_manifest(data: bytes, edit) -> bytes:
    def change(raw: bytes) -> bytes:
        manifest = json.loads(raw)
        edit(manifest)
        return json.dumps(manifest).encode()
    return rewrite(data, "manifest.json", change)


@pytest.fixture(scope="module")
def compare_bytes(small_sample) -> bytes:
    return compare_zip(small_sample)


@pytest.fixture
def benchmark_file(tmp_path, capsys):
    """A benchmark run of two methods at two levels on two small images, exported with ``bundle export``."""
    store = Store(tmp_path / "results.sqlite")
    table = run(small_config(write_images(tmp_path / "images")), workers=0, store=store)
    out = tmp_path / "run.zip"
    assert main(["bundle", "export", str(table.attrs["run_id"]), str(out), "--db", str(store.path), "--outputs"]) == 0
    capsys.readouterr()
    return out


def test_a_compare_bundle_holds_its_parts_and_verifies(compare_bytes, tmp_path, capsys):
    archive = zipfile.ZipFile(io.BytesIO(compare_bytes))
    names = archive.namelist()
    assert {"manifest.json", "results.csv", "report.html"} <= set(names)
    assert sum(n.startswith("outputs/") for n in names) == 3 and sum(n.startswith("inputs/") for n in names) == 1
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["schema"] == bundle.SCHEMA and manifest["kind"] == "compare" and manifest["seeds"] == [3]
    assert manifest["methods"]["median"] == {"name": "median", "params": [{"size": 3}], "weights_sha256": None}
    assert manifest["noise"] == [{"model": "gaussian", "params": NOISE}]
    assert manifest["machine"]["cores"] >= 1 and "threads" in manifest["machine"] and manifest["versions"]["numpy"]
    report = archive.read("report.html").decode()
    assert "<table" in report and "http" not in report.replace("http-equiv", "")  # nothing fetched: opens offline
    rows = pd.read_csv(io.BytesIO(archive.read("results.csv")))
    assert len(rows) == 3 * rows["metric"].nunique() and set(rows["level"]) == {25.0}
    (tmp_path / "c.zip").write_bytes(compare_bytes)
    code, out, err = verify(tmp_path / "c.zip", capsys, "--json")
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["differing"] == 0 and report["matched"] == len(rows), err


def test_a_benchmark_bundle_verifies_and_a_changed_number_is_named(benchmark_file, tmp_path, capsys):
    code, out, _ = verify(benchmark_file, capsys)
    assert code == 0 and "16 of 16 numbers match" in out
    rows = pd.read_csv(io.BytesIO(zipfile.ZipFile(benchmark_file).read("results.csv")))
    assert sum(n.startswith("outputs/") for n in zipfile.ZipFile(benchmark_file).namelist()) == 8
    target = rows.index[(rows["image"] == "b.png") & (rows["method"] == "median") & (rows["metric"] == "psnr")
                        & (rows["level"] == 50)][0]
    rows.loc[target, "value"] += 0.01  # 0.01 dB: over the tolerance (about 0.003 dB at 30 dB)
    tampered = tmp_path / "tampered.zip"
    tampered.write_bytes(rewrite(benchmark_file.read_bytes(), "results.csv", lambda _: rows.to_csv(index=False).encode()))
    code, out, _ = verify(tampered, capsys)
    assert code == 1 and "15 of 16 numbers match" in out
    assert [line for line in out.splitlines() if line.startswith("differs")] == [
        line for line in out.splitlines() if "b.png gaussian 50 seed 1 median psnr" in line]


@pytest.mark.parametrize("edit, named", [
    (lambda m: m["methods"]["median"].update(name="median_v9"), "method 'median_v9' does not exist"),
    (lambda m: m["methods"]["median"].update(weights_sha256="ab" * 32), f"sha256 {'ab' * 32}"),
    (lambda m: m.update(schema=bundle.SCHEMA + 1), f"schema version {bundle.SCHEMA + 1}"),
], ids=["missing method", "missing weights", "newer schema"])
def test_a_bundle_this_machine_cannot_reproduce_says_why_in_one_line(compare_bytes, tmp_path, capsys, edit, named):
    path = tmp_path / "other.zip"
    path.write_bytes(edit_manifest(compare_bytes, edit))
    code, out, err = verify(path, capsys)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and named in err, err


def test_a_bundle_without_a_clean_reference_verifies_the_noise_left_in_each_output(tmp_path, capsys):
    noisy = add_noise(load_sample("camera")[0][:128, :128], "gaussian", NOISE, seed=0)  # used as an already-noisy image
    out = denoise(noisy, "median", {"size": 5}, auto=False)
    sigma = {bundle.ESTIMATED_SIGMA: estimate.noise_level(noisy)["sigma"]}
    shots = [bundle.Shot(bundle.NOISY, None, {}, noisy, float("nan"), sigma),
             bundle.Shot("median", "median", {"size": 5}, out, 0.01,
                         {bundle.ESTIMATED_SIGMA: estimate.noise_level(out)["sigma"]})]
    data = bundle.compare_bundle(bundle.Input("compare", "noisy.png", noisy), shots, noise=bundle.NO_NOISE,
                                 noise_params={}, seed=0, view={"img": "upload", "ref": "none"})
    path = tmp_path / "blind.zip"
    path.write_bytes(data)
    code, out_text, _ = verify(path, capsys)
    assert code == 0 and "2 of 2 numbers match" in out_text
    assert sigma[bundle.ESTIMATED_SIGMA] > 2 * shots[1].scores[bundle.ESTIMATED_SIGMA]  # the median removed noise


def test_a_vote_round_keeps_its_votes_beside_the_numbers_that_verify(compare_bytes, tmp_path, capsys):
    opened = bundle.read_bundle(compare_bytes)
    item = opened.manifest["inputs"][0]
    pixels, meta = opened.input(item["group"], item["image"])
    votes = b"round,voter,pair,choice\n1,a1,median|gaussian,A\n"
    data = bundle.write_bundle("vote", opened.rows, [bundle.Input(item["group"], item["image"], pixels, meta)],
                               {label: entry["name"] for label, entry in opened.manifest["methods"].items()},
                               attachments={"votes.csv": votes}, context={"round": 1})
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.read("attachments/votes.csv") == votes
    assert json.loads(archive.read("manifest.json"))["attachments"] == {
        "attachments/votes.csv": hashlib.sha256(votes).hexdigest()}
    (tmp_path / "vote.zip").write_bytes(data)
    code, out, _ = verify(tmp_path / "vote.zip", capsys)
    assert code == 0 and f"{len(opened.rows)} of {len(opened.rows)} numbers match" in out


def test_hostile_and_oversized_members_are_refused(compare_bytes, tmp_path, capsys, monkeypatch):
    slip = tmp_path / "slip.zip"
    slip.write_bytes(compare_bytes)
    with zipfile.ZipFile(slip, "a") as archive:
        archive.writestr("../../outside.txt", b"x")
    code, _, err = verify(slip, capsys)
    assert code == 2 and "zip-slip" in err and "../../outside.txt" in err
    monkeypatch.setattr(bundle.read, "MAX_MEMBER_BYTES", 2**20)
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(compare_bytes)
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("outputs/zeros.png", bytes(2**20 + 1))  # 1 MiB of zeros packs into about 1 KiB
    assert bomb.stat().st_size < len(compare_bytes) + 5000
    code, _, err = verify(bomb, capsys)
    assert code == 2 and "outputs/zeros.png" in err and "over the limit of 1,048,576" in err
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(compare_bytes[: len(compare_bytes) // 2])
    code, _, err = verify(corrupt, capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not a readable zip" in err


def test_a_malformed_bundle_is_one_line_or_a_named_difference(compare_bytes, tmp_path, capsys):
    def csv(edit):
        def change(raw: bytes) -> bytes:
            rows = pd.read_csv(io.BytesIO(raw), dtype=str)
            edit(rows)
            return rows.to_csv(index=False).encode()
        return lambda data: rewrite(data, "results.csv", change)
    def not_a_number(rows):
        rows.loc[0, "value"] = "abc"

    def not_json(rows):
        rows.loc[rows["method"] == "median", "params"] = "{size"

    cases = {"value": (csv(not_a_number), 2, "value holds 'abc', not a number"),
             "params": (csv(not_json), 1, "median"),
             "manifest": (lambda d: rewrite(d, "manifest.json", lambda _: b"{"), 2, "not valid JSON"),
             "inputs": (lambda d: edit_manifest(d, lambda m: m.update(inputs="x")), 2, "inputs are not a list")}
    for name, (change, expected, named) in cases.items():
        path = tmp_path / f"{name}.zip"
        path.write_bytes(change(compare_bytes))
        code, out, err = verify(path, capsys)
        assert code == expected and named in (out if code == 1 else err), (name, out, err)
        assert "Traceback" not in out + err and (code == 1 or len(err.strip().splitlines()) == 1)


def test_flipped_bytes_give_an_exit_code_never_a_traceback(compare_bytes, tmp_path, capsys):
    rng, codes = np.random.default_rng(0), set()
    for attempt in range(24):
        data = bytearray(compare_bytes)
        for where in rng.integers(0, len(data), 1 + attempt % 8):
            data[where] = (data[where] + 1 + rng.integers(255)) % 256
        path = tmp_path / f"flipped{attempt}.zip"
        path.write_bytes(bytes(data))
        code, _, err = verify(path, capsys)  # anything but 0, 1 or 2 (an exception) fails here
        assert code in (0, 1, 2) and (code != 2 or len(err.strip().splitlines()) == 1), err
        codes.add(code)
    assert 2 in codes  # most flips hit a checksum, a header or the manifest


def test_an_altered_input_is_refused(compare_bytes, tmp_path, capsys):
    name = next(n for n in zipfile.ZipFile(io.BytesIO(compare_bytes)).namelist() if n.startswith("inputs/"))
    path = tmp_path / "input.zip"
    path.write_bytes(rewrite(compare_bytes, name, lambda raw: raw[:-1] + bytes([raw[-1] ^ 1])))
    code, _, err = verify(path, capsys)
    assert code == 2 and "the input was altered" in err


def test_a_dicom_source_bundle_is_deidentified_and_still_verifies(tmp_path, capsys):
    source = pydicom.dcmread(io.BytesIO(load_sample("ct")[1].dicom_header), force=True)
    data = compare_zip("ct", deidentify_key="session-key")
    archive = zipfile.ZipFile(io.BytesIO(data))
    outputs = [n for n in archive.namelist() if n.startswith("outputs/")]
    assert len(outputs) == 3 and all(n.startswith("outputs/deidentified_") and n.endswith(".dcm") for n in outputs)
    for name in outputs:
        ds = pydicom.dcmread(io.BytesIO(archive.read(name)))
        assert ds.PatientIdentityRemoved == "YES"
        assert str(ds.PatientName) != str(source.PatientName) and ds.PatientID != source.PatientID
    for name in archive.namelist():  # no member names the patient or the source file
        assert b"CompressedSamples" not in archive.read(name) and b"ct_small" not in archive.read(name), name
    kept = zipfile.ZipFile(io.BytesIO(compare_zip("ct")))
    assert str(source.PatientName) == str(pydicom.dcmread(io.BytesIO(kept.read("outputs/ct_small_median.dcm"))).PatientName)
    path = tmp_path / "ct.zip"
    path.write_bytes(data)
    code, out, _ = verify(path, capsys)
    assert code == 0, out
