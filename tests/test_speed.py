"""The measured speed of each method, remembered to estimate the next run."""
import json

import pytest

from denoise_core import speed


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("DENOISE_WORKBENCH_CACHE", str(tmp_path))
    return tmp_path


def test_an_estimate_scales_the_median_of_the_last_runs_to_the_image():
    assert speed.estimate("bm3d", 10**6) is None  # never run here
    for seconds in (10.0, 12.0, 50.0):  # on one megapixel; the 50 s run was disturbed
        speed.record("bm3d", 10**6, seconds)
    assert speed.estimate("bm3d", 4 * 10**6) == pytest.approx(48.0)  # the median, 12 s per megapixel, × 4
    for _ in range(speed.KEEP):
        speed.record("bm3d", 2 * 10**6, 2.0)  # a faster machine: the old runs age out
    assert speed.estimate("bm3d", 10**6) == pytest.approx(1.0)


def test_a_damaged_record_is_no_estimate_and_is_written_anew(cache):
    (cache / "speed.json").write_text("{not json")
    assert speed.estimate("median", 100) is None
    speed.record("median", 100, 0.5)
    assert json.loads((cache / "speed.json").read_text()) == {"median": [5000.0]}
    (cache / "speed.json").write_text(json.dumps({"median": ["x", -1, 3.0], "tv": "fast"}))
    assert speed.estimate("median", 10**6) == 3.0 and speed.estimate("tv", 1) is None


def test_durations_read_as_people_say_them():
    assert speed.describe(42.4) == "about 42 s" and speed.describe(300) == "about 5 minutes"
