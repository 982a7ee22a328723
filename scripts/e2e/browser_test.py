#!/usr/bin/env python3
"""A real browser against `sessiongate demo`: headless Chromium, driven by Selenium.

Starts `.build/debug/sessiongate demo` on free loopback ports, then:
  1. opens / and is sent to /login?next=/ (the proxy's redirect for browsers),
  2. signs in through the form (ids user, signin) and sees the session page (id whoami),
  3. checks the session cookie through the browser's cookie API: HttpOnly, SameSite=Lax,
     Path=/, not Secure (the demo serves plain HTTP, as documented), host-only, an expiry that
     follows idle_timeout, and invisible to JavaScript (document.cookie),
  4. reloads and sees the app's write-back (the visit counter, kept with X-Session-Set),
  5. logs out (button id logout), is back at /login, the cookie is gone, and / redirects again.
Saves a screenshot of the session page to ${SESSIONGATE_ARTIFACTS:-/tmp}/sessiongate-browser.png.

With `--tls-dir DIR` (a CA from scripts/lib/tls_ca.sh) the demo serves HTTPS (--tls-cert
chain.pem) and the same steps run at https://localhost, with the cookie expected `Secure`. The
browser trusts the run-time CA through its own NSS database (certutil, in a HOME made for the
run), not by ignoring certificate errors: a browser without that database is first shown to
refuse the page.
Exit 1 with the reason on any failure. scripts/e2e/browser.sh installs what this needs.
"""

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from proctools import free_port, stop as stop_process  # noqa: E402
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".build" / "debug" / "sessiongate"
COOKIE_NAME = "sessiongate_demo"  # DemoConfig in Sources/SessionGateApp/Commands/DemoCommand.swift
IDLE_TIMEOUT = 30 * 60  # the demo uses the default [session] idle_timeout
USER = "alice"


class Failure(Exception):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


def wait_until_serving(url: str, process: subprocess.Popen, seconds: float, cafile: str | None = None) -> None:
    deadline = time.monotonic() + seconds
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    while time.monotonic() < deadline:
        expect(process.poll() is None, f"sessiongate demo exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise Failure(f"sessiongate demo did not answer {url} within {seconds}s")


def stop(process: subprocess.Popen) -> None:
    stop_process(process, signal.SIGTERM, timeout=5)


def trusting_home(work: Path, ca_file: str) -> Path:
    """A HOME whose NSS database (the one Chromium on Linux reads) trusts the run-time CA."""
    home = work / "home"
    database = home / ".pki" / "nssdb"
    database.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{database}", "-N", "--empty-password"], check=True)
    subprocess.run(
        ["certutil", "-d", f"sql:{database}", "-A", "-t", "C,,", "-n", "sessiongate-test-ca", "-i", ca_file], check=True)
    return home


def browser(profile: str, home: Path | None = None) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for argument in (
        "--headless=new",
        # Containers (and root) cannot use Chromium's sandbox; this browser only visits the
        # loopback demo started here.
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--window-size=1100,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    environment = dict(os.environ, HOME=str(home)) if home else None
    driver = webdriver.Chrome(service=Service(executable_path=driver_path, env=environment), options=options)
    driver.set_page_load_timeout(20)
    return driver


def path_and_query(url: str) -> tuple[str, dict]:
    parts = urllib.parse.urlsplit(url)
    return parts.path, urllib.parse.parse_qs(parts.query)


def session_data(driver) -> dict:
    return json.loads(driver.find_element(By.ID, "session").text)


def run(driver, base: str, screenshot: Path, secure: bool) -> None:
    wait = WebDriverWait(driver, 10)
    host = urllib.parse.urlsplit(base).hostname

    # 1. Anonymous: the proxy sends the browser to the login page, keeping where it was going.
    driver.get(base + "/")
    path, query = path_and_query(driver.current_url)
    expect(path == "/login" and query.get("next") == ["/"], f"anonymous / went to {driver.current_url}")
    expect(not driver.get_cookies(), f"cookies before signing in: {driver.get_cookies()}")

    # 2. Sign in with the form.
    driver.find_element(By.ID, "user").send_keys(USER)
    driver.find_element(By.ID, "signin").click()
    whoami = wait.until(expected_conditions.presence_of_element_located((By.ID, "whoami")))
    expect(USER in whoami.text, f"session page says {whoami.text!r}")
    expect(path_and_query(driver.current_url)[0] == "/", f"after sign-in at {driver.current_url}")
    expect(session_data(driver).get("user_id") == USER, f"session data {session_data(driver)}")
    claims = json.loads(driver.find_element(By.ID, "claims").text)
    expect(claims.get("htm") == "GET" and claims.get("htu") == "/", f"token claims {claims}")

    # 3. The cookie, as the browser stored it.
    cookies = driver.get_cookies()
    expect([c["name"] for c in cookies] == [COOKIE_NAME], f"cookies after sign-in: {[c['name'] for c in cookies]}")
    cookie = cookies[0]
    expect(cookie.get("httpOnly") is True, f"HttpOnly is {cookie.get('httpOnly')}")
    expect(cookie.get("sameSite") == "Lax", f"SameSite is {cookie.get('sameSite')}")
    expect(cookie.get("path") == "/", f"Path is {cookie.get('path')}")
    expect(cookie.get("secure") is secure, f"Secure is {cookie.get('secure')} (expected {secure} for {base})")
    expect(cookie.get("domain") == host, f"Domain is {cookie.get('domain')} (expected host-only)")
    remaining = cookie.get("expiry", 0) - time.time()
    expect(IDLE_TIMEOUT - 120 < remaining <= IDLE_TIMEOUT + 5, f"cookie expires in {remaining:.0f}s, not ~{IDLE_TIMEOUT}s")
    expect(driver.execute_script("return document.cookie") == "", "JavaScript can read the session cookie")
    driver.save_screenshot(str(screenshot))
    expect(screenshot.stat().st_size > 1000, "the screenshot is empty")

    # 4. The app's write-back: every page view counts a visit in the session.
    before = session_data(driver).get("visits")
    driver.refresh()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "whoami")))
    after = session_data(driver).get("visits")
    expect(isinstance(before, int) and after == before + 1, f"visits went from {before} to {after}")

    # 5. Log out: back at the login page, the cookie gone, and / closed again.
    driver.find_element(By.ID, "logout").click()
    wait.until(expected_conditions.presence_of_element_located((By.ID, "signin")))
    expect(path_and_query(driver.current_url)[0] == "/login", f"after logout at {driver.current_url}")
    expect(not [c for c in driver.get_cookies() if c["name"] == COOKIE_NAME], "the session cookie survived logout")
    driver.get(base + "/")
    expect(path_and_query(driver.current_url)[0] == "/login", f"/ after logout shows {driver.current_url}")


def refused_without_the_ca(base: str, profile: str) -> None:
    """A browser with an empty NSS database must not show the page (the CA is not trusted)."""
    home = Path(profile).parent / "untrusting-home"
    home.mkdir()
    driver = browser(profile, home=home)
    try:
        driver.get(base + "/login")
        expect(not driver.find_elements(By.ID, "signin"), "a browser without the CA showed the login page")
        expect("CERT_AUTHORITY_INVALID" in driver.page_source, "a browser without the CA did not name the unknown authority")
    finally:
        driver.quit()


def main() -> int:
    # A SIGTERM (e.g. from `timeout`) unwinds through the finally block below, which stops the
    # browser and the demo; once that cleanup runs (bounded), further signals wait for it.
    cleaning_up = False

    def on_sigterm(*_):
        if not cleaning_up:
            sys.exit(1)

    signal.signal(signal.SIGTERM, on_sigterm)
    if not BINARY.is_file():
        print(f"browser test: {BINARY} is missing; run swift build --product sessiongate", file=sys.stderr)
        return 1
    tls_dir = sys.argv[sys.argv.index("--tls-dir") + 1] if "--tls-dir" in sys.argv else None
    artifacts = Path(os.environ.get("SESSIONGATE_ARTIFACTS") or "/tmp")
    artifacts.mkdir(parents=True, exist_ok=True)
    screenshot = artifacts / ("sessiongate-browser-https.png" if tls_dir else "sessiongate-browser.png")
    port, admin_port = free_port(), free_port()
    base = f"https://localhost:{port}" if tls_dir else f"http://127.0.0.1:{port}"
    command = [str(BINARY), "demo", "--port", str(port), "--admin-port", str(admin_port)]
    if tls_dir:
        command += ["--tls-cert", f"{tls_dir}/chain.pem", "--tls-key", f"{tls_dir}/server.key"]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sessiongate-browser.") as work:
        log = open(Path(work) / "demo.log", "w+")
        demo = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=work)
        driver = None
        try:
            wait_until_serving(base + "/login", demo, 30, cafile=f"{tls_dir}/ca.pem" if tls_dir else None)
            home = None
            if tls_dir:
                refused_without_the_ca(base, str(Path(work) / "untrusting-profile"))
                home = trusting_home(Path(work), f"{tls_dir}/ca.pem")
            driver = browser(str(Path(work) / "profile"), home=home)
            run(driver, base, screenshot, secure=tls_dir is not None)
        except Failure as failure:
            print(f"FAIL browser test: {failure}", file=sys.stderr)
            if driver is not None:
                driver.save_screenshot(str(artifacts / "sessiongate-browser-failure.png"))
            log.seek(0)
            print("--- demo output\n" + log.read()[-2000:], file=sys.stderr)
            return 1
        finally:
            cleaning_up = True
            try:
                if driver is not None:
                    driver.quit()
            finally:
                stop(demo)
                log.close()
    print(f"browser test{' (https, run-time CA trusted)' if tls_dir else ''} passed in {time.monotonic() - started:.1f}s (screenshot: {screenshot})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
