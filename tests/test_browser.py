"""Real-browser smoke test: what AppTest cannot see (the slider component, plotly rendering).

Starts ``streamlit run app.py`` on a free localhost port, opens each page in headless Chromium
(Debian packages ``chromium`` and ``chromium-driver``, driven by selenium), checks that the
before/after slider (a component iframe) and the plotly charts rendered, and saves a screenshot of
each page under ``docs/screenshots/``. Skips with a reason when Chromium, its driver or selenium is
missing; always stops the server it started.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
WIDTH, HEIGHT = 1440, 2000

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(DRIVER is None, reason="chromedriver is not installed (apt-get install chromium-driver)"),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def results_db(tmp_path_factory) -> Path:
    """A results store holding one quick benchmark run, for the Benchmark page to show."""
    from denoise_core.benchmark import run
    from denoise_core.benchmark.store import Store

    path = tmp_path_factory.mktemp("results") / "results.sqlite"
    run(ROOT / "benchmarks" / "configs" / "quick.yaml", workers=0, store=Store(path))
    return path


@pytest.fixture(scope="module")
def server(small_sample, results_db):
    from denoise_core.paths import DB_VAR

    port = free_port()
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", DB_VAR: str(results_db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""
                pytest.fail(f"streamlit did not start on port {port}: {output[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()


@contextlib.contextmanager
def chromium():
    """A headless Chromium with its own profile (its own cookies: a session of its own), closed afterwards."""
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="dw-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        driver.set_window_size(WIDTH, HEIGHT)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


def wait_until(driver, condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition(driver)
            if value:
                return value
        except Exception:  # elements come and go while the page reruns
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def settled(driver) -> bool:
    """The script finished: no 'running' indicator and no exception box."""
    running = driver.find_elements("css selector", '[data-testid="stStatusWidget"]')
    return not running and bool(driver.find_elements("css selector", '[data-testid="stMainBlockContainer"]'))


def open_page(driver, url: str, expect_css: str, timeout: float = 90):
    driver.get(url)
    wait_until(driver, lambda d: d.find_elements("css selector", expect_css), timeout, expect_css)
    wait_until(driver, settled, timeout, "the script to finish")
    time.sleep(1.0)  # images and charts paint
    assert not driver.find_elements("css selector", '[data-testid="stException"]'), "the page shows an exception"


def shoot(driver, path: Path) -> None:
    """Screenshot cut just below the page's content (the window is taller than most pages)."""
    from PIL import Image

    driver.save_screenshot(str(path))
    bottom = driver.execute_script(
        "const b = document.querySelector('[data-testid=\"stMainBlockContainer\"]');"
        "return b ? b.getBoundingClientRect().bottom : null;")
    if bottom:
        with Image.open(path) as shot:
            ratio = shot.height / HEIGHT
            cut = min(shot.height, int((bottom + 24) * ratio))
            if cut < shot.height:
                shot.crop((0, 0, shot.width, max(cut, int(900 * ratio)))).save(path)


def test_pages_render_slider_and_charts(server, browser, small_sample):
    SHOTS.mkdir(parents=True, exist_ok=True)
    query = f"?img={small_sample}"

    open_page(browser, f"{server}/{query}", '[data-testid="stImage"]')
    shoot(browser, SHOTS / "home.png")

    open_page(browser, f"{server}/Noise_Lab{query}", ".js-plotly-plot .main-svg")
    assert len(browser.find_elements("css selector", ".js-plotly-plot")) >= 4
    shoot(browser, SHOTS / "noise_lab.png")

    open_page(browser, f"{server}/Denoise_and_Compare{query}&noise=salt_pepper&n.amount=0.05&m=median,gaussian",
              'iframe[title*="compare_slider"]', timeout=120)
    charts = wait_until(browser, lambda d: d.find_elements("css selector", "svg.metric-bars"), 30, "the metric charts")
    assert len(charts) >= 4
    frame = browser.find_element("css selector", 'iframe[title*="compare_slider"]')
    assert frame.size["width"] > 0.5 * WIDTH - 400, "the slider does not fill the page width"
    assert frame.size["height"] > 100, "the slider did not size itself"
    browser.switch_to.frame(frame)
    try:
        loaded = wait_until(browser, lambda d: d.execute_script(
            "const i = document.querySelectorAll('#stage img');"
            "return i.length == 2 && i[0].naturalWidth > 0 && i[1].naturalWidth > 0;"), 20, "the slider images")
        assert loaded
    finally:
        browser.switch_to.default_content()
    shoot(browser, SHOTS / "denoise_compare.png")

    open_page(browser, f"{server}/Benchmark", ".js-plotly-plot .main-svg")
    assert len(browser.find_elements("css selector", ".js-plotly-plot")) >= 3, "the benchmark charts did not render"
    shoot(browser, SHOTS / "benchmark.png")

    open_page(browser, f"{server}/Pipeline{query}&noise=salt_pepper&n.amount=0.1", ".js-plotly-plot .main-svg")
    browser.find_element("xpath", "//button[.//p[text()='Run the pipeline']]").click()
    frame = wait_until(browser, lambda d: d.find_element("css selector", 'iframe[title*="compare_slider"]'), 120,
                       "the pipeline's stages in the slider")
    wait_until(browser, settled, 120, "the pipeline to finish")
    assert not browser.find_elements("css selector", '[data-testid="stException"]'), "the page shows an exception"
    assert frame.size["height"] > 100, "the slider did not size itself"
    shoot(browser, SHOTS / "pipeline.png")

    open_page(browser, f"{server}/Model_Lab{query}", ".js-plotly-plot .main-svg")
    shoot(browser, SHOTS / "model_lab.png")


def test_a_sweep_run_from_the_page_draws_its_bands_and_crossovers(server, browser, small_sample):
    query = f"?img={small_sample}&sw.size=64&sw.range=5:75:4&sw.m=median,wiener&sw.seeds=2"
    open_page(browser, f"{server}/Sweeps{query}", '[data-testid="stSidebar"] button')
    browser.find_element("xpath", "//button[.//p[text()='Run sweep']]").click()
    wait_until(browser, lambda d: d.find_elements("css selector", ".js-plotly-plot .main-svg"), 120, "the sweep's chart")
    wait_until(browser, settled, 120, "the sweep to finish")
    assert not browser.find_elements("css selector", '[data-testid="stException"]'), "the page shows an exception"
    bands = browser.find_elements("css selector", ".js-plotly-plot .scatterlayer .js-fill")
    assert len(bands) >= 2, "the 95 % bands did not render"
    legend = [item.text for item in browser.find_elements("css selector", ".js-plotly-plot .legendtext")]
    assert legend == ["Median filter", "Local (adaptive) Wiener filter", "crossover"]
    assert "sw.range=5%3A75%3A4" in browser.current_url and "sw.m=median%2Cwiener" in browser.current_url
    shoot(browser, SHOTS / "sweeps.png")


def test_a_chart_of_twenty_methods_shows_every_full_name(server, browser):
    from denoise_core import registry
    methods = registry.methods("denoiser")[:20]
    assert len(methods) == 20
    open_page(browser, f"{server}/Denoise_and_Compare?img=ct&m={','.join(m.name for m in methods)}",  # 128×128: quick
              "svg.metric-bars", timeout=240)
    first = wait_until(browser, lambda d: next(c for c in d.find_elements("css selector", "svg.metric-bars")
                                               if c.get_attribute("aria-label").startswith("PSNR")),
                       60, "the PSNR chart")  # one bar per method
    labels = [t.text for t in first.find_elements("css selector", "text.bar-label")]
    assert sorted(labels) == sorted(m.title for m in methods), labels  # all twenty, in full
    boxes = [t.rect for t in first.find_elements("css selector", "text.bar-label")]
    tops = sorted(box["y"] for box in boxes)
    assert min(b - a for a, b in zip(tops, tops[1:])) >= 10, "labels overlap"
    bars = first.find_element("css selector", "rect").rect  # the names end left of the bars, none cut off
    assert all(box["x"] >= first.rect["x"] and box["x"] + box["width"] <= bars["x"] for box in boxes), boxes


def test_a_region_is_drawn_by_dragging_a_box_on_the_image(server, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    open_page(browser, f"{server}/Denoise_and_Compare?img=ct&m=median", "svg.metric-bars")
    browser.find_element("xpath", "//*[@role='tab'][contains(., 'Region of interest')]").click()
    drawing = wait_until(browser, lambda d: [c for c in d.find_elements("css selector", ".js-plotly-plot")
                                             if c.is_displayed() and c.find_elements("css selector", ".imagelayer")],
                         30, "the image to draw on")[0]
    area = drawing.find_element("css selector", ".nsewdrag")
    size = area.size
    ActionChains(browser).move_to_element_with_offset(area, -size["width"] // 4, -size["height"] // 4).click_and_hold() \
        .move_by_offset(size["width"] // 4, size["height"] // 4).release().perform()
    wait_until(browser, settled, 60, "the page to take the region")
    tops = browser.find_elements("css selector", 'input[aria-label="top"]')
    values = [int(t.get_attribute("value")) for t in tops]
    assert 20 <= values[0] <= 40, values  # the signal region now starts about a quarter down the 128-row slice


def test_self_tuning_draws_the_loss_and_the_psnr_with_the_auto_line_inside_them(server, browser, small_sample):
    from denoise_core import registry
    open_page(browser, f"{server}/Self_Tuning?img={small_sample}&noise=gaussian&n.sigma=0.0980392&seed=0&cal=tv",
              '[data-testid="stImage"]')
    title = registry.get("tv", "denoiser").title
    browser.find_element("xpath", f"//button[.//p[text()='Tune {title} on the noisy image']]").click()
    charts = wait_until(browser, lambda d: len(d.find_elements("css selector", ".js-plotly-plot")) == 2
                        and d.find_elements("css selector", ".js-plotly-plot"), 120, "the loss and PSNR charts")
    wait_until(browser, settled, 120, "the tuning to finish")
    for chart in charts:  # the auto rule's dashed line, on a log axis, lies inside the plot
        area = chart.find_element("css selector", ".nsewdrag").rect
        line = wait_until(browser, lambda d: chart.find_element("css selector", ".shapelayer path"), 10, "the line").rect
        assert area["x"] < line["x"] < area["x"] + area["width"], (area, line)
    shoot(browser, SHOTS / "self_tuning.png")


def test_three_browsers_open_the_vote_link_at_once_and_one_votes(server, browser, results_db):
    from denoise_core.benchmark.store import Store
    from denoise_core.classroom import Round, open_round

    store = Store(results_db)
    code = open_round(store, Round(kind="vote", images=("ct",), noises=({"model": "gaussian", "params": {}},),
                                   methods=("median", "mean"), pairs=2)).code
    with chromium() as second, chromium() as third:
        drivers = [browser, second, third]
        for driver in drivers:  # each returns once the page has loaded; the three scripts then run at once
            driver.get(f"{server}/Vote?round={code}")
        for driver in drivers:
            wait_until(driver, lambda d: len(d.find_elements("css selector", '[data-testid="stImage"] img')) == 2, 120,
                       "the two sides of the first pair")
            wait_until(driver, settled, 60, "the page to finish")
            assert not driver.find_elements("css selector", '[data-testid="stException"]'), "the page shows an exception"
            captions = [c.text for c in driver.find_elements("css selector", '[data-testid="stImageCaption"]')]
            assert captions == ["A", "B"], captions  # the methods' names hidden
        browser.find_element("xpath", "//button[.//p[text()='A looks better']]").click()
        wait_until(browser, lambda d: "1 of 2 pairs judged" in d.page_source, 60, "the vote to be counted")
    votes = store.votes(code)
    assert len(votes) == 1 and votes["choice"].tolist() == ["a"]


def test_noise_forensics_draws_its_figures_and_switches_tabs(server, browser, small_sample):
    open_page(browser, f"{server}/Noise_Forensics?img={small_sample}&noise=poisson&n.peak=30&fx.ref=smooth",
              ".js-plotly-plot .main-svg", timeout=120)

    def shown(d) -> list:
        return [c for c in d.find_elements("css selector", ".js-plotly-plot") if c.is_displayed()]

    scatter = wait_until(browser, shown, 30, "the mean–variance scatter")[0]
    assert "Local mean–variance" in scatter.find_element("css selector", ".gtitle").text
    assert "looks like Poisson" in browser.find_element("css selector", '[data-testid="stAlertContentSuccess"]').text
    shoot(browser, SHOTS / "noise_forensics.png")
    browser.find_element("xpath", "//*[@role='tab'][contains(., 'Spectrum')]").click()
    titles = wait_until(browser, lambda d: len(shown(d)) >= 4 and [c.find_element("css selector", ".gtitle").text
                                                                    for c in shown(d)], 30, "the spectrum tab's charts")
    assert "Autocorrelation, shifts ±8" in titles and "Mean jump per offset modulo 8" in titles
    browser.find_element("xpath", "//*[@role='tab'][contains(., 'Classifier')]").click()
    wait_until(browser, lambda d: any(c.find_element("css selector", ".gtitle").text.startswith("Confusion on held-out")
                                      for c in shown(d)), 60, "the confusion matrix")
