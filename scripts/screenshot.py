"""Take a full-page screenshot of a running dashboard page in Debian's Chromium.

    .venv/bin/python scripts/screenshot.py URL OUT.png [WIDTH HEIGHT]

Waits until Streamlit has finished running the script, then prints any console errors and any
request that left loopback.
"""

import sys
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


def main() -> None:
    url, out = sys.argv[1], sys.argv[2]
    width, height = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) > 4 else (1366, 768)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        outside, errors = [], []
        page.on("request", lambda r: urlparse(r.url).hostname not in ("127.0.0.1", "localhost", None) and outside.append(r.url))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(url)
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120000)
        page.wait_for_timeout(1500)
        page.screenshot(path=out, full_page=True)
        browser.close()
    print("console errors:", errors)
    print("requests leaving loopback:", outside)


if __name__ == "__main__":
    main()
