"""The app in a real browser: ``harness app`` on localhost, driven by headless chromium.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Without them the
test is skipped, except under CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from app_support import cifake_image, cifake_run

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 90  # seconds for the server to come up and for each page update
BASELINE = "baseline · app_cifake"  # the sidebar's label of the run's baseline


def browser_binaries() -> tuple[str, str]:
    chrome = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chrome and driver:
        return chrome, driver
    reason = (
        "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser test")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """``harness app RUN --port P`` as a subprocess; yields its URL."""
    browser_binaries()
    run = cifake_run(tmp_path_factory)
    port = free_port()
    env = os.environ | {"PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    log = (tmp_path_factory.getbasetemp() / "app-server.log").open("w")
    cmd = [sys.executable, "-m", "harness.cli", "app", str(run), "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def wait_healthy(url: str, proc: subprocess.Popen) -> None:
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"harness app exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"harness app did not answer on {url} within {TIMEOUT}s")


@pytest.fixture
def driver():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chrome, chromedriver = browser_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--window-size=1400,1800",
    ):
        options.add_argument(arg)
    d = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    yield d
    d.quit()


def wait_text(driver, text: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, TIMEOUT, poll_frequency=0.3).until(
        lambda d: text in d.find_element("tag name", "body").text,
        message=f"page never showed {text!r}",
    )


def line(driver, start: str) -> str:
    """The first line of the page's text that starts with ``start``."""
    text = driver.find_element("tag name", "body").text
    return next(t for t in text.splitlines() if t.startswith(start))


def open_tab(driver, name: str) -> None:
    tabs = driver.find_elements("css selector", "[role='tab']")
    next(t for t in tabs if t.text.strip() == name).click()


@pytest.mark.realdata
@pytest.mark.slow
def test_upload_and_attack_in_a_real_browser(server: str, driver, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(server)
    wait_text(driver, "robustness-harness: interactive demo")
    wait_text(driver, f"{BASELINE.split(' · ')[0]}: clean accuracy")  # Results, the first tab
    assert "Deploy" not in driver.find_element("tag name", "body").text  # a viewer's toolbar
    open_tab(driver, "Samples")
    wait_text(driver, "test #0")  # the Samples grid
    open_tab(driver, "Upload")  # a tab's content runs when it is opened
    wait_text(driver, "Upload an image")
    image = cifake_image()
    driver.find_element("css selector", "input[type='file']").send_keys(str(image))
    wait_text(driver, f"{BASELINE}: predicted")
    wait_text(driver, "robust · app_cifake: predicted")
    predicted = line(driver, f"{BASELINE}: predicted ").split("predicted ")[1]
    open_tab(driver, "Attack")
    # the Attack tab works on the upload: the same clean prediction as the Upload tab
    wait_text(driver, f"{BASELINE}: clean {predicted} → attacked")
    wait_text(driver, "at ε = 0.0300")  # the run's default
    before = line(driver, f"{BASELINE}: clean")
    # the slider's thumb is a visually hidden <input type=range>: focus it, press End (maximum)
    thumb = driver.find_element("css selector", "[data-testid='stSlider'] input[type='range']")
    driver.execute_script("arguments[0].focus();", thumb)
    ActionChains(driver).send_keys(Keys.END).perform()
    wait_text(driver, "at ε = 0.1000")  # the top of the smallest-flip search's range
    # a 3.3x larger perturbation moves the attacked confidence (the page updates in place)
    WebDriverWait(driver, TIMEOUT).until(
        lambda d: line(d, f"{BASELINE}: clean") != before,
        message=f"the attacked prediction never changed from {before!r}",
    )
    after = line(driver, f"{BASELINE}: clean")
    assert after.startswith(f"{BASELINE}: clean {predicted} → attacked")
    wait_text(driver, "smallest flipping ε (fgsm)")
    shot = tmp_path / "app.png"
    assert driver.save_screenshot(str(shot))
    assert shot.stat().st_size > 10_000


@pytest.mark.realdata
@pytest.mark.slow
def test_tapping_the_slider_under_pgd_does_not_crash_the_server(server: str, driver) -> None:
    """Issue 13: each tap reruns the script in a new thread while the last one still attacks
    the same cached model; the server used to segfault."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver.get(server)
    wait_text(driver, "robustness-harness: interactive demo")
    open_tab(driver, "Attack")  # (a hidden tab's text is not the page's text)
    wait_text(driver, "smallest flipping ε (fgsm)")
    boxes = driver.find_elements("css selector", "[data-testid='stSelectbox']")
    attack = next(b for b in boxes if b.text.startswith("Attack"))  # Run, Image, Attack, Corruption
    attack.find_element("css selector", "input").click()
    options = driver.find_elements("css selector", "[role='option']")
    next(o for o in options if o.text.strip() == "pgd").click()
    wait_text(driver, "pgd at ε = 0.0300")
    thumb = driver.find_element("css selector", "[data-testid='stSlider'] input[type='range']")
    driver.execute_script("arguments[0].focus();", thumb)
    for key in [Keys.ARROW_RIGHT] * 6 + [Keys.ARROW_LEFT] * 3:
        ActionChains(driver).send_keys(key).perform()
        time.sleep(0.15)  # faster than an attack: every tap interrupts a running one
    wait_text(driver, "pgd at ε = 0.0600")
    wait_text(driver, "smallest flipping ε (pgd)")
    with urllib.request.urlopen(f"{server}/_stcore/health", timeout=5) as r:
        assert r.status == 200
    body = driver.find_element("tag name", "body").text
    assert "Traceback" not in body and "CONNECTING" not in body.upper().split("\n")[:3]
