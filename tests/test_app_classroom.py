"""AppTest of the classroom: the Vote and Challenge pages, sessions voting at once, and classroom mode (what a
student's session may not reach on a shared server)."""
import io
import threading

import numpy as np
import pytest
from PIL import Image

from apptest_threads import one_server
from test_app_fuzz import assert_calm

from denoise_core.benchmark import run
from denoise_core.benchmark.store import Store
from denoise_core.classroom import PASSCODE_VAR, Round, open_round
from denoise_core.paths import DB_VAR, ROOTS_VAR
from test_app_downloads import download, media  # noqa: F401  (the files behind the download buttons)
from test_benchmark import small_config, write_images
from test_bundle import verify

PASSCODE = "owl-42"
METHODS = ("median", "mean")


@pytest.fixture
def store(tmp_path, monkeypatch) -> Store:
    """The results store the app's sessions share."""
    monkeypatch.setenv(DB_VAR, str(tmp_path / "results.sqlite"))
    return Store(tmp_path / "results.sqlite")


@pytest.fixture
def vote_round(store) -> Round:
    """A vote on the 128² CT slice: two quick filters, three pairs per student."""
    return open_round(store, Round(kind="vote", images=("ct",), noises=({"model": "gaussian", "params": {}},),
                                   methods=METHODS, pairs=3))


@pytest.fixture
def classroom(monkeypatch):
    """Classroom mode: the server is shared and the lecturer's passcode is set."""
    monkeypatch.setenv(PASSCODE_VAR, PASSCODE)


def become_lecturer(at, passcode: str = PASSCODE):
    at.text_input(key="w.class.passcode").set_value(passcode).run()
    return at


def texts(at) -> str:
    """Everything the page wrote, in one string."""
    parts = [e.value for kind in ("markdown", "caption", "title", "success", "info") for e in getattr(at, kind)]
    return " ".join(map(str, parts + [caption for image in at.get("image") for caption in image.captions]))


def vote_all(at, choice: str = "a"):
    """Judge every pair of this session's ballot with ``choice``."""
    while any(button.key == f"w.vote.{choice}" for button in at.button):
        at.button(key=f"w.vote.{choice}").click().run()
    return at


def test_a_lecturer_opens_a_round_and_gets_a_code_and_a_link(open_page, store):
    at = open_page("vote").run()
    at.multiselect(key="w.vote.images").set_value(["ct"])
    at.multiselect(key="w.vote.methods").set_value(list(METHODS))
    at.number_input(key="w.vote.pairs").set_value(4)
    at.button(key="w.vote.open").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    code = at.session_state["vote_code"]
    assert store.rounds()["code"].tolist() == [code] and at.query_params["round"] == code
    assert f"?round={code}" in at.code[0].value
    assert any(b.key == "w.vote.a" for b in at.button)  # the lecturer can try the ballot too


def test_a_student_votes_blind_and_the_lecturer_reveals_the_ranking(open_page, vote_round, store, classroom,
                                                                   media, tmp_path, capsys):  # noqa: F811
    student = open_page("vote", round=vote_round.code).run()
    assert not student.exception
    shown = texts(student)
    assert "Median" not in shown and "Mean" not in shown  # the names stay hidden
    assert [image.captions for image in student.get("image")] == [["A"], ["B"]]
    vote_all(student)
    assert "Every pair judged" in student.success[-1].value
    votes = store.votes(vote_round.code)
    assert len(votes) == 3 and votes["choice"].eq("a").all()
    lecturer = become_lecturer(open_page("vote", round=vote_round.code).run())
    lecturer.toggle(key="w.vote.reveal").set_value(True).run()
    assert not lecturer.exception and not lecturer.error
    ranking = lecturer.dataframe[0].value
    assert set(ranking["method"]) == {"Median filter", "Mean (box) filter"}
    assert {"strength", "low", "high", "win_rate", "psnr_rank", "ssim_rank"} <= set(ranking.columns)
    assert lecturer.dataframe[1].value["metric"].tolist()[:2] == ["psnr", "ssim"]
    assert [b.label for b in lecturer.get("download_button")] == ["Ranking (CSV)", "Kendall τ (CSV)", "Figure (SVG)",
                                                                   "Round settings (JSON)", "Bundle (zip)"]
    (tmp_path / "round.zip").write_bytes(download(lecturer, "w.vote.bundle", media))
    code, out, _ = verify(tmp_path / "round.zip", capsys)  # every score of the round, recomputed
    assert code == 0 and "numbers match" in out, out
    assert "noise: Gaussian (additive white) (clip True, sigma 25/255)" in texts(lecturer)


def test_sessions_voting_at_once_lose_no_vote_and_count_none_twice(open_page, vote_round, store):
    sessions = [open_page("vote", round=vote_round.code) for _ in range(6)]
    failures = []

    def vote(at) -> None:
        try:
            vote_all(at.run(), "same")
        except Exception as error:  # noqa: BLE001: reported below with the others
            failures.append(error)

    with one_server():
        threads = [threading.Thread(target=vote, args=(at,)) for at in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not failures and not any(at.exception for at in sessions)
    votes = store.votes(vote_round.code)
    assert len(votes) == 6 * 3 and votes["voter"].nunique() == 6
    assert not votes.duplicated(["voter", "pair"]).any()
    voter = votes["voter"].iloc[0]  # a vote sent again (a reload, a double click) is stored once
    assert not store.add_vote(vote_round.code, voter, 0, 0, *METHODS, "a")
    assert len(store.votes(vote_round.code)) == 18


def test_a_challenge_hides_the_clean_image_and_a_resent_submission_counts_once(open_page, store):
    challenge = open_round(store, Round(kind="challenge", images=("ct",),
                                        noises=({"model": "gaussian", "params": {"sigma": 0.1}},), seed=2))
    student = open_page("challenge", round=challenge.code).run()
    assert "PSNR" not in texts(student) and not student.dataframe  # no metric, no leaderboard
    assert not any(b.key == "w.chal.clean" for b in student.get("toggle"))
    student.selectbox(key="w.chal.method").set_value("median").run()
    student.text_input(key="w.chal.name").set_value("Ada")
    for _ in range(2):
        student.button(key="w.chal.submit").click().run()
    assert not student.exception and "counts once" in student.success[-1].value
    sent = store.submissions(challenge.code)
    assert len(sent) == 1 and sent["name"].tolist() == ["Ada"]
    lecturer = open_page("challenge", round=challenge.code).run()
    board = lecturer.dataframe[0].value
    assert board[["rank", "name", "method", "submitted"]].to_dict("records") == [
        {"rank": 1, "name": "Ada", "method": "Median filter", "submitted": 1}]
    assert board["psnr"].iloc[0] == pytest.approx(sent["psnr"].iloc[0]) and board["psnr"].iloc[0] > 25


def test_a_student_cannot_open_a_round_or_see_the_reveal_the_lecturer_can(open_page, vote_round, classroom):
    student = open_page("vote", round=vote_round.code).run()
    assert not any(b.key == "w.vote.open" for b in student.button)
    assert not any(t.key == "w.vote.reveal" for t in student.toggle) and not student.get("code")
    become_lecturer(student, "owl-41")
    assert "Not the lecturer's passcode" in texts(student) and not any(b.key == "w.vote.open" for b in student.button)
    lecturer = become_lecturer(open_page("vote", round=vote_round.code).run())
    assert any(b.key == "w.vote.open" for b in lecturer.button)
    vote_all(lecturer)
    assert any(t.key == "w.vote.reveal" for t in lecturer.toggle)
    lecturer.button(key="w.class.leave").click().run()  # back to a student's view: the passcode is asked again
    assert not any(b.key == "w.vote.open" for b in lecturer.button) and lecturer.text_input(key="w.class.passcode")
    assert not lecturer.text_input(key="w.class.passcode").value


def test_a_student_cannot_list_a_server_folder_or_delete_runs(open_page, store, tmp_path, monkeypatch, classroom):
    folder = write_images(tmp_path / "images")
    monkeypatch.setenv(ROOTS_VAR, str(tmp_path))
    run(small_config(folder), workers=0, store=store)
    student = open_page("home")
    student.switch_page("pages/4_Benchmark.py")
    student.run()
    assert "A folder on this computer" not in student.selectbox(key="w.bench.images").options
    assert not any(b.key == "w.bench.delete" for b in student.button) and student.button(key="w.bench.run").disabled
    become_lecturer(student)
    assert "A folder on this computer" in student.selectbox(key="w.bench.images").options
    assert any(b.key == "w.bench.delete" for b in student.button)


def test_a_student_cannot_import_or_download_weights(open_page, classroom):
    student = open_page("model_lab").run()
    assert not student.exception
    assert not student.get("file_uploader") and not any(".fetch." in (b.key or "") for b in student.button)
    assert "Importing weights: the lecturer's alone" in texts(student)
    become_lecturer(student)
    assert [uploader.key for uploader in student.get("file_uploader")] == ["w.ml.upload"]


def test_a_student_cannot_read_another_students_upload(open_page, classroom):
    buffer = io.BytesIO()
    Image.fromarray(np.tile(np.arange(96, dtype=np.uint8), (80, 1))).save(buffer, format="PNG")
    first = open_page("home").run()
    first.file_uploader(key="w.upload").set_value(("mine.png", buffer.getvalue(), "image/png")).run()
    assert first.session_state["image_id"].startswith("upload:")
    second = open_page("home", img="upload").run()  # the first student's link, opened by another
    assert second.session_state["image_id"].startswith("sample:")
    assert second.session_state["image_hash"] != first.session_state["image_hash"]


@pytest.mark.parametrize("page", ["vote", "challenge"])
@pytest.mark.parametrize("code", ["x" * 5000 + "ガウス", "AB\nCD\x1b", "'; DROP TABLE votes; --"],
                         ids=["long", "control", "sql"])
def test_a_hostile_class_code_in_a_link_is_one_line(open_page, store, page, code):
    at = open_page(page, round=code).run()
    assert_calm(at)
    assert len(at.error) == 1 and "no round with class code" in at.error[0].value


def test_a_code_of_the_other_kind_says_where_it_belongs(open_page, vote_round):
    at = open_page("challenge", round=vote_round.code).run()
    assert [e.value for e in at.error] == [f"class code {vote_round.code} is a vote: open it on the Vote page"]
