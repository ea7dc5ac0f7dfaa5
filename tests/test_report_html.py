"""report.html: the same report in a browser, self-contained, the verdict and curve first."""

from __future__ import annotations

import re

import pytest
from test_app_browser import browser_binaries


@pytest.fixture(scope="module")
def page(digits_runs):
    return digits_runs[0] / "report.html"


def test_report_html_is_self_contained_and_has_every_section(page) -> None:
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and '<meta name="viewport"' in text
    sources = re.findall(r'<img src="([^"]+)"', text)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"(src|href)=\"https?:", text)  # nothing from the network
    md = (page.parent / "report.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", md, flags=re.M)
    assert headings and all(f"<h2>{h.replace('&', '&amp;')}</h2>" in text for h in headings)
    assert "@media print" in text and "<table>" in text


@pytest.mark.parametrize("width,height,phone", [(1280, 900, False), (390, 844, True)])
def test_the_verdict_and_the_curve_are_on_the_first_screen(page, width, height, phone) -> None:
    """A laptop's first screen holds the verdict table and the curve; a phone's the table (the
    curve follows it)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chrome, chromedriver = browser_binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chrome
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        driver.set_window_size(width, height)
        driver.get(page.as_uri())
        screen = driver.execute_script("return window.innerHeight")
        top = "return arguments[0].getBoundingClientRect().top"
        heading = driver.find_element("xpath", "//h2[text()='Verdict']")
        table = driver.find_element("xpath", "//h2[text()='Verdict']/following::table[1]")
        curve = driver.find_element("xpath", "//img[@alt='robustness curve']")
        for element in (heading, table) if phone else (heading, table, curve):
            assert driver.execute_script(top, element) < screen
        width_used = driver.execute_script("return document.documentElement.scrollWidth")
        assert width_used <= width  # nothing wider than the screen: wide tables scroll inside
        assert "[" in table.text and "baseline" in table.text  # intervals, every model
        loaded = "return arguments[0].complete && arguments[0].naturalWidth > 0"
        assert driver.execute_script(loaded, curve)  # the inlined PNG decodes
    finally:
        driver.quit()
