"""How long Denoise & Compare takes to answer in a real browser (headless Chromium), results cached.

Starts ``streamlit run app.py`` on a free localhost port with a cache folder of its own, opens Denoise &
Compare on the 512×512 X-ray with Gaussian noise σ 25/255 and four methods (median, BM3D, NLM, wavelet),
waits for the first run, then times, from the user's action until the page has settled (no "running"
indicator; every element drawn):

1. a whole rerun of the cached page (Streamlit's "R" key),
2. the slider's left and then its right panel changed (each a pick in its box),
3. a tab switched (to the Zoomed grid),
4. the zoomed region moved (the Region x slider, one step by the keyboard), and
5. the link opened in a new tab (a new session: every result from the shared cache).

Prints each time beside its target. ``--baseline REV`` measures the app as it was at commit ``REV`` in the
same run (a temporary git worktree, its own server, browser and cache folder), and prints its times beside
(e.g. ``--baseline 36d2ef5``, the app before its pages drew only the open tab). Needs Debian's chromium and
chromium-driver and selenium (``bash scripts/setup.sh --with-browser``). ``--smoke``: the 128×128 CT slice
and the median alone.

    python benchmarks/app_browser_timing.py [--baseline REV] [--smoke]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"whole cached rerun": 1.5, "slider's left panel changed": 1.0, "slider's right panel changed": 1.0,
           "tab switched": 1.0, "zoomed region moved": 1.0, "link opened in a new session": 3.0}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, tree: Path) -> subprocess.Popen:
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "DENOISE_WORKBENCH_CACHE": tempfile.mkdtemp()}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                             "--server.port", str(port), "--server.address", "127.0.0.1",
                             "--server.fileWatcherType", "none"], cwd=tree, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.terminate()
    raise SystemExit("streamlit did not start")


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser") or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 f"--user-data-dir={tempfile.mkdtemp()}", "--window-size=1440,2000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)


def settled(driver, ready: str) -> bool:
    """The script finished and the page shows ``ready`` (a CSS selector of what the action should bring)."""
    running = driver.find_elements("css selector", '[data-testid="stStatusWidget"]')
    return not running and bool(driver.find_elements("css selector", ready))


CHARTS = "svg.metric-bars, .js-plotly-plot .main-svg"
"""The metric charts of the Metrics tab (static SVG now; plotly charts in older versions)."""


def timed(driver, act, ready: str = CHARTS, timeout: float = 600) -> float:
    start = time.perf_counter()
    act()
    time.sleep(0.05)  # let the rerun begin before looking for its end
    while not settled(driver, ready):
        if time.perf_counter() - start > timeout:
            raise SystemExit("timed out waiting for the page")
        time.sleep(0.02)
    return time.perf_counter() - start


def pick(driver, label: str, option: str) -> None:
    """Choose ``option`` in the select box labelled ``label``, as a click on it and on the option does."""
    box = driver.find_element("xpath", f"//*[@data-testid='stSelectbox'][.//label[contains(., '{label}')]]")
    box.find_element("css selector", "input").click()
    driver.find_element("xpath", f"//*[@role='option'][contains(., '{option}')]").click()


def measure(tree: Path, image: str, methods: str) -> tuple[float, dict[str, float]]:
    """(first run, {action: seconds}) of the app in ``tree``, with its own server, browser and cache folder."""
    from selenium.webdriver.common.keys import Keys

    port = free_port()
    proc = start_server(port, tree)
    driver = browser()
    try:
        url = f"http://127.0.0.1:{port}/Denoise_and_Compare?img={image}&noise=gaussian&n.sigma=0.0980392&seed=0&m={methods}"
        first = timed(driver, lambda: driver.get(url))
        body = driver.find_element("tag name", "body")
        times = {"whole cached rerun": timed(driver, lambda: body.send_keys("r"))}  # Streamlit's rerun key
        times["slider's left panel changed"] = timed(driver, lambda: pick(driver, "Left of the slider", "Clean"))
        times["slider's right panel changed"] = timed(driver, lambda: pick(driver, "Right of the slider", "Noisy"))

        region_x = 'input[type="range"][aria-label="Region x"]'
        times["tab switched"] = timed(driver, lambda: driver.find_element(
            "xpath", "//*[@role='tab'][contains(., 'Zoomed grid')]").click(), ready=region_x)
        times["zoomed region moved"] = timed(
            driver, lambda: driver.find_element("css selector", region_x).send_keys(Keys.ARROW_RIGHT), ready=region_x)
        driver.switch_to.new_window("tab")
        times["link opened in a new session"] = timed(driver, lambda: driver.get(url))  # its metrics and charts
    finally:
        driver.quit()
        proc.terminate()
    return first, times


def at_commit(rev: str) -> Path:
    """A temporary checkout of commit ``rev`` (a git worktree, removed by ``remove_checkout``)."""
    folder = Path(tempfile.mkdtemp()) / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(folder), rev], cwd=ROOT, check=True)
    return folder


def remove_checkout(folder: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(folder)], cwd=ROOT, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", metavar="REV", help="also measure the app at this commit, in the same run")
    parser.add_argument("--smoke", action="store_true", help="the CT slice and the median alone")
    args = parser.parse_args()

    image, methods = ("ct", "median") if args.smoke else ("xray", "median,bm3d,nlm,wavelet_bayes")
    before = None
    if args.baseline:
        tree = at_commit(args.baseline)
        try:
            before = measure(tree, image, methods)
        finally:
            remove_checkout(tree)
    first, times = measure(ROOT, image, methods)
    print(f"image {image}, methods {methods}; first run (computing): {first:.2f} s"
          + (f"; at {args.baseline}: {before[0]:.2f} s" if before else ""))
    for label, seconds in times.items():
        then = f"   (at {args.baseline}: {before[1][label]:6.2f} s)" if before else ""
        print(f"{label + ':':34s}{seconds:6.2f} s   (target ≤ {TARGETS[label]:g} s){then}")


if __name__ == "__main__":
    main()
