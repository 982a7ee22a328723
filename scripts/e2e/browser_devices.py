#!/usr/bin/env python3
"""'Your devices' in a real browser (issue 15): two headless Chromium profiles sign in to
`sessiongate demo` as the same user, each sees both sessions in "Your devices" (its own marked
"This device"), the first signs the second out, and the second lands on the login page at its
next request. Saves ${SESSIONGATE_ARTIFACTS:-/tmp}/sessiongate-devices.png (the first browser's
page with both devices). Run by scripts/e2e/browser.sh, which installs what this needs."""

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from browser_test import BINARY, Failure, browser, expect, free_port, path_and_query, stop, wait_until_serving  # noqa: E402
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

USER = "dana"


def sign_in(driver, base):
    driver.get(base + "/")
    WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((By.ID, "user"))).send_keys(USER)
    driver.find_element(By.ID, "signin").click()
    WebDriverWait(driver, 10).until(expected_conditions.presence_of_element_located((By.ID, "devices")))


def devices(driver):
    """{sid: (row text, is this device)} from the "Your devices" table."""
    rows = driver.find_elements(By.CSS_SELECTOR, "#devices tr.device")
    return {row.get_attribute("data-sid"): (row.text, bool(row.find_elements(By.CLASS_NAME, "this-device"))) for row in rows}


def run(first, second, base, screenshot):
    sign_in(first, base)
    sign_in(second, base)
    first.refresh()
    seen_by_first, seen_by_second = devices(first), devices(second)
    expect(len(seen_by_first) == 2 and seen_by_first.keys() == seen_by_second.keys(),
           f"the two browsers list different devices: {seen_by_first} / {seen_by_second}")
    mine = [sid for sid, (_, this) in seen_by_first.items() if this]
    theirs = [sid for sid, (_, this) in seen_by_second.items() if this]
    expect(len(mine) == 1 and len(theirs) == 1 and mine != theirs, f"'This device' marks: {mine} / {theirs}")
    for text, _ in seen_by_first.values():
        expect("Chrome" in text and "127.0.0.1" in text, f"device row without browser or IP: {text!r}")
    first.save_screenshot(str(screenshot))
    expect(screenshot.stat().st_size > 1000, "the screenshot is empty")

    # The first browser signs the second out.
    first.find_element(By.CSS_SELECTOR, f'button.sign-out[data-sid="{theirs[0]}"]').click()
    # The click navigates: rows read while the old page goes away are stale (Chrome reports
    # "Node with given id does not belong to the document"), so the wait polls past that.
    WebDriverWait(first, 10, ignored_exceptions=[WebDriverException]).until(lambda d: len(devices(d)) == 1)
    expect(list(devices(first)) == mine, f"after signing out the other: {devices(first)}")
    second.get(base + "/")
    WebDriverWait(second, 10).until(expected_conditions.presence_of_element_located((By.ID, "signin")))
    expect(path_and_query(second.current_url)[0] == "/login", f"the signed-out browser is at {second.current_url}")
    first.get(base + "/")
    expect(path_and_query(first.current_url)[0] == "/", f"the first browser lost its session: {first.current_url}")


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    artifacts = Path(os.environ.get("SESSIONGATE_ARTIFACTS") or "/tmp")
    artifacts.mkdir(parents=True, exist_ok=True)
    screenshot = artifacts / "sessiongate-devices.png"
    port, admin_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sessiongate-devices.") as work:
        log = open(Path(work) / "demo.log", "w+")
        demo = subprocess.Popen([str(BINARY), "demo", "--port", str(port), "--admin-port", str(admin_port)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=work)
        drivers = []
        try:
            wait_until_serving(base + "/login", demo, 30)
            drivers = [browser(str(Path(work) / "profile-a")), browser(str(Path(work) / "profile-b"))]
            run(drivers[0], drivers[1], base, screenshot)
        except Failure as failure:
            print(f"FAIL devices browser test: {failure}", file=sys.stderr)
            for index, driver in enumerate(drivers):
                driver.save_screenshot(str(artifacts / f"sessiongate-devices-failure-{index}.png"))
            log.seek(0)
            print("--- demo output\n" + log.read()[-2000:], file=sys.stderr)
            return 1
        finally:
            try:
                for driver in drivers:
                    driver.quit()
            finally:
                stop(demo)
                log.close()
    print(f"devices browser test passed in {time.monotonic() - started:.1f}s (screenshot: {screenshot})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
