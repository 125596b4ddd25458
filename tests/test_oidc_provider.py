"""Real sign-in through Streamlit's own OpenID Connect support against the test provider.

Starts tests/oidc/provider.js (oidc-provider on 127.0.0.1) and `streamlit run tests/oidc_smoke_app.py`
with an [auth] secrets file in a temporary folder, then drives Debian's Chromium through the whole
redirect flow: the app's sign-in button, the provider's login form and consent page, and back. Two
browser contexts signed in as different users at once each keep their own user, and signing one out
(through the provider's end-session page) leaves the other signed in. Fails instead of skipping when
Chromium is missing in CI.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from oidc_provider import (
    ACCOUNTS,
    free_port,
    running_provider,
    secrets_args,
    sign_in,
    stop_process,
    streamlit_env,
    write_secrets,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
APP = Path(__file__).resolve().parent / "oidc_smoke_app.py"
TIMEOUT_MS = 60_000
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))




@pytest.fixture(scope="module")
def signed_in_app(tmp_path_factory):
    """(app URL, provider) for the smoke app behind the test provider; both processes stopped at exit."""
    tmp = tmp_path_factory.mktemp("oidc")
    app_port = free_port()
    with running_provider([f"http://localhost:{app_port}/oauth2callback"]) as provider:
        secrets_file = write_secrets(tmp / "secrets.toml", provider, app_port)
        log = tmp / "streamlit.log"
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
                 "--server.address", "127.0.0.1", "--server.port", str(app_port),
                 "--server.enableStaticServing", "false", "--server.fileWatcherType", "none",
                 "--browser.gatherUsageStats", "false", *secrets_args(secrets_file)],
                cwd=ROOT, env=streamlit_env(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(f"streamlit exited with {proc.returncode}: {log.read_text()[-3000:]}")
                try:
                    if _direct.open(f"http://127.0.0.1:{app_port}/_stcore/health", timeout=2).status == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            else:
                pytest.fail(f"streamlit did not start: {log.read_text()[-3000:]}")
            # The redirect URI's host: the auth cookies are only trusted for that origin.
            yield f"http://localhost:{app_port}", provider
        finally:
            stop_process(proc)
            print(f"--- streamlit log ---\n{log.read_text()[-3000:]}\n--- provider log ---\n{provider.log()[-3000:]}")


def _wait_idle(page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)


def _open_app(context, app_url: str):
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app_url, wait_until="domcontentloaded")
    page.get_by_role("heading", name="OIDC smoke").wait_for()
    _wait_idle(page)
    return page


def _sign_in_through_app(page, provider, login: str) -> None:
    page.get_by_role("button", name="Sign in").click()
    # st.login sends the browser to the app's /auth/login, which redirects to the provider's form.
    page.wait_for_url(re.compile("^" + re.escape(provider.issuer) + "/"), timeout=TIMEOUT_MS)
    sign_in(page, login, timeout_ms=TIMEOUT_MS)


def _expect_user(page, login: str) -> None:
    page.get_by_text(f"email: {login}", exact=True).wait_for(timeout=TIMEOUT_MS)
    page.get_by_text(f"name: {ACCOUNTS[login]}", exact=True).wait_for(timeout=TIMEOUT_MS)
    _wait_idle(page)
    assert page.get_by_role("button", name="Sign in").count() == 0
    others = [other for other in ACCOUNTS if other != login]
    body = page.locator("body").inner_text()
    assert login in body
    assert not any(other in body for other in others), body


def test_sign_in_through_streamlit_with_two_users_at_once(browser, signed_in_app):
    app_url, provider = signed_in_app
    north_context = browser.new_context()
    lead_context = browser.new_context()
    try:
        north = _open_app(north_context, app_url)
        assert north.url.startswith(app_url)
        _sign_in_through_app(north, provider, "north@example.org")
        assert north.url.startswith(app_url), north.url
        _expect_user(north, "north@example.org")

        # A second browser (its own cookies) signs in while the first stays signed in.
        lead = _open_app(lead_context, app_url)
        lead.get_by_role("button", name="Sign in").wait_for()
        _sign_in_through_app(lead, provider, "lead@example.org")
        _expect_user(lead, "lead@example.org")

        # Each keeps its own user, also after a reload (a new session from the cookie).
        _expect_user(north, "north@example.org")
        for page, login in ((north, "north@example.org"), (lead, "lead@example.org")):
            page.reload(wait_until="domcontentloaded")
            _expect_user(page, login)

        # Signing out goes through the provider's end-session page and back; the other user stays signed in.
        north.get_by_role("button", name="Sign out").click()
        north.wait_for_url(re.compile("^" + re.escape(provider.issuer) + "/session/end"), timeout=TIMEOUT_MS)
        north.locator('button[name="logout"]').click()
        north.wait_for_url(re.compile("^" + re.escape(app_url) + "/"), timeout=TIMEOUT_MS)
        north.get_by_role("button", name="Sign in").wait_for(timeout=TIMEOUT_MS)
        assert "north@example.org" not in north.locator("body").inner_text()
        lead.reload(wait_until="domcontentloaded")
        _expect_user(lead, "lead@example.org")
    finally:
        north_context.close()
        lead_context.close()
