"""A real OpenID Connect provider for tests that sign in through Streamlit's own st.login / st.user.

The provider is the npm package oidc-provider (pinned in tests/oidc/package.json and its lock), run as
`node tests/oidc/provider.js PORT` on 127.0.0.1 with one confidential client (`oversight-test` /
`oversight-test-secret`, token endpoint auth `client_secret_basic`: Authlib's default, which
Streamlit uses) and the accounts in ACCOUNTS: the login typed in its form is the account id and
e-mail; any non-empty password is accepted, any other login is refused. The ID token carries
`email` and `name`, which is where Streamlit reads st.user from.

Typical use::

    ensure_node_modules()                        # `npm ci` in tests/oidc on a fresh checkout
    with running_provider([f"http://localhost:{app_port}/oauth2callback"]) as provider:
        write_secrets(tmp / "secrets.toml", provider, app_port)
        streamlit run app.py --server.port APP_PORT --secrets.files TMP/secrets.toml
        ...open http://localhost:APP_PORT, click the app's sign-in button...
        sign_in(page, "north@example.org")       # provider form -> consent -> back on the app

Passing the secrets file to `streamlit run`: Streamlit 1.67 reads secrets from the config option
`secrets.files` (a list; by default ~/.streamlit/secrets.toml and ./.streamlit/secrets.toml). Like
every config option it can be set on the command line, `--secrets.files /path/secrets.toml` (give
the flag again for more files), or through the environment, `STREAMLIT_SECRETS_FILES=/path/secrets.toml`
(click splits that variable on whitespace, so the flag is safer for paths with spaces). Either one
replaces the default list, so the checkout's .streamlit/ is neither read for secrets nor touched.
`secrets_args(path)` returns the flag.

Gotchas:
- Open the app at http://localhost:PORT, the host of the redirect URI: Streamlit keeps Authlib's
  state in a session cookie for the host the browser used, and st.user only trusts a user cookie
  whose origin matches the redirect URI's. The provider itself stays on 127.0.0.1: cookies do not
  tell ports apart, so a provider on localhost would share the app's cookie jar.
- Streamlit always asks for prompt=select_account; provider.js supports it (it shows the login
  form), otherwise oidc-provider would refuse the request as an unsupported prompt.
- The first sign-in of an account in a browser context shows a consent page ("Continue"); later
  ones in the same context skip it. `sign_in` handles both.
- Plain http works: oidc-provider marks its cookies Secure only on https requests, and Authlib
  accepts http token/discovery URLs on loopback addresses (no AUTHLIB_INSECURE_TRANSPORT needed).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
PROVIDER_JS = OIDC_DIR / "provider.js"
CLIENT_ID = "oversight-test"
CLIENT_SECRET = "oversight-test-secret"
ACCOUNTS = {
    "lead@example.org": "Елена Смирнова",
    "north@example.org": "Никита Северов",
    "south@example.org": "Светлана Южакова",
    "presenter@example.org": "Павел Докладов",
    "data@example.org": "Дарья Данилова",
    "admin@example.org": "Алексей Админов",
    "nogrant@example.org": "Олег Безправов",
}
LOOPBACK_NO_PROXY = "127.0.0.1,localhost,::1"

# Loopback requests never go through a proxy, whatever the environment says.
_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pinned_version() -> str:
    return json.loads((OIDC_DIR / "package.json").read_text())["dependencies"]["oidc-provider"]


def _installed_version() -> str | None:
    installed = OIDC_DIR / "node_modules" / "oidc-provider" / "package.json"
    if not installed.exists():
        return None
    return json.loads(installed.read_text()).get("version")


def ensure_node_modules(timeout: float = 300) -> None:
    """Install tests/oidc's locked npm packages (`npm ci`) unless the pinned oidc-provider is there."""
    if _installed_version() == _pinned_version():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise RuntimeError("node and npm are needed for the OIDC test provider (Debian: apt-get install nodejs npm)")
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=OIDC_DIR, capture_output=True, text=True, timeout=timeout,
    )
    if result.returncode != 0 or _installed_version() != _pinned_version():
        raise RuntimeError(f"npm ci in {OIDC_DIR} failed ({result.returncode}):\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")


@dataclass
class Provider:
    issuer: str
    port: int
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    log_path: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def origin(self) -> str:
        return self.issuer

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    """Terminate a process the tests started, kill it if it does not go."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


def _start(port: int, redirect_uris: list[str], post_logout_redirect_uris: list[str], log_path: Path,
           timeout: float) -> Provider:
    issuer = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_REDIRECT_URIS": ",".join(redirect_uris),
        "OIDC_POST_LOGOUT_REDIRECT_URIS": ",".join(post_logout_redirect_uris),
    }
    with open(log_path, "w") as out:
        proc = subprocess.Popen(
            [shutil.which("node") or "node", str(PROVIDER_JS), str(port)],
            cwd=OIDC_DIR, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    provider = Provider(issuer=issuer, port=port, log_path=log_path, process=proc)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"OIDC provider exited with {proc.returncode}:\n{provider.log()[-3000:]}")
        try:
            with _direct.open(provider.metadata_url, timeout=2) as response:
                if response.status == 200 and json.load(response).get("issuer") == issuer:
                    return provider
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    stop_process(proc)
    raise RuntimeError(f"OIDC provider not ready on {issuer} after {timeout:.0f} s:\n{provider.log()[-3000:]}")


@contextmanager
def running_provider(redirect_uris: list[str], post_logout_redirect_uris: list[str] | None = None,
                     port: int | None = None, timeout: float = 30) -> Iterator[Provider]:
    """Start tests/oidc/provider.js on a free loopback port, wait for its discovery document, stop it at exit.

    Post-logout redirect URIs default to the redirect URIs (Streamlit's st.logout sends the user to the
    provider's end_session_endpoint with post_logout_redirect_uri = its /oauth2callback).
    """
    ensure_node_modules()
    log_dir = Path(tempfile.mkdtemp(prefix="oidc-provider-"))
    attempts = 1 if port else 3
    provider = None
    for attempt in range(attempts):
        try:
            provider = _start(port or free_port(), list(redirect_uris), list(post_logout_redirect_uris or redirect_uris),
                              log_dir / f"provider-{attempt}.log", timeout)
            break
        except RuntimeError:
            # Another process may have taken the free port between picking and binding it.
            if attempt == attempts - 1:
                raise
    assert provider is not None and provider.process is not None
    try:
        yield provider
    finally:
        stop_process(provider.process)


def _toml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def write_secrets(path: str | os.PathLike, provider: Provider, app_port: int, cookie_secret: str | None = None) -> Path:
    """Write a secrets.toml whose [auth] section signs in with `provider`, for an app at http://localhost:APP_PORT."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    auth = {
        "redirect_uri": f"http://localhost:{app_port}/oauth2callback",
        "cookie_secret": cookie_secret or secrets.token_hex(32),
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "server_metadata_url": provider.metadata_url,
    }
    path.write_text("[auth]\n" + "".join(f"{key} = {_toml(value)}\n" for key, value in auth.items()))
    return path


def secrets_args(path: str | os.PathLike) -> list[str]:
    """The `streamlit run` flags that make it read its secrets from `path` only."""
    return ["--secrets.files", str(path)]


def streamlit_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for `streamlit run` whose server-side calls to the provider never go through a proxy."""
    env = dict(os.environ if env is None else env)
    for key in ("NO_PROXY", "no_proxy"):
        env[key] = ",".join(filter(None, [env.get(key), LOOPBACK_NO_PROXY]))
    return env


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def sign_in(page, login: str, password: str = "test-password", timeout_ms: float = 60_000) -> None:
    """On the provider's login form in `page` (playwright, sync API): sign in as `login`, continue past the
    consent page if there is one, and return once the browser has left the provider (back on the app).

    Raises AssertionError when the provider refuses the login (its form comes back with an alert)."""
    provider_origin = _origin(page.url)
    page.wait_for_selector('input[name="login"]', timeout=timeout_ms)
    page.fill('input[name="login"]', login)
    page.fill('input[name="password"]', password)
    # Each submission is a POST answered by redirects: wait until its document has replaced the form,
    # so nothing below reads the page that was just submitted.
    with page.expect_navigation(wait_until="domcontentloaded", timeout=timeout_ms):
        page.locator('button[type="submit"]').first.click()

    deadline = time.monotonic() + timeout_ms / 1000
    consented = False
    while time.monotonic() < deadline:
        try:
            if _origin(page.url) != provider_origin and not page.url.startswith("about:"):
                page.wait_for_load_state("load", timeout=timeout_ms)
                return
            page.wait_for_load_state("domcontentloaded", timeout=timeout_ms)
            alert = page.locator('[role="alert"]')
            if alert.count():
                raise AssertionError(f"the provider refused {login!r}: {alert.first.inner_text()}")
            button = page.locator('button:has-text("Continue")')
            if not consented and button.count():
                consented = True
                with page.expect_navigation(wait_until="domcontentloaded", timeout=timeout_ms):
                    button.first.click()
                continue
        except AssertionError:
            raise
        except Exception as exc:  # a navigation (e.g. an auto-submitted form) can destroy the page's context
            if "destroyed" not in str(exc) and "navigat" not in str(exc).lower():
                raise
        page.wait_for_timeout(100)
    raise TimeoutError(f"still on the provider at {page.url} {timeout_ms / 1000:.0f} s after signing in as {login!r}")
