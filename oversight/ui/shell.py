"""The run around every page: the demo build on a first start (with its progress bar), the language
switch and Streamlit's own texts in Russian, sign-in and the principal, `setup` (database, data facts,
the sidebar's filters: the PageContext), the invariants check, refusals, and the page header (title,
demo banner or the data's freshness, problems with the link, the period line)."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from oversight import access, leftovers, store
from oversight.access import Principal
from oversight.i18n import DEFAULT_LANGUAGE, LANGUAGES, fmt_date, fmt_datetime, t
from oversight.ingest.demo import build_demo_database
from oversight.output import presentation
from oversight.output.presentation import md_code, md_text
from oversight.paths import database_path
from oversight.ui.cache import connection, query
from oversight.ui.context import AccessContext, PageContext, Source
from oversight.ui.sidebar import filter_sidebar

_build_lock = threading.Lock()


@st.cache_resource(show_spinner=False)
def _clean_leftovers(folder: str) -> int:
    """Once per server process: what killed imports, previews and builds left beside the database."""
    return len(leftovers.clean(folder))


def ensure_database(lang: str) -> Path:
    """Return the database path, building the demo database first if there is none yet.

    Shows a progress bar while building (about half a minute for a million requests). A lock
    keeps two browser sessions of the same server from building it twice.
    """
    path = database_path()
    _clean_leftovers(str(path.parent))
    if path.exists():
        return path
    with _build_lock:
        if path.exists():
            return path
        note = st.empty()
        note.info(t("build.title", lang))
        bar = st.empty()
        bar.progress(0.0, text=t("build.step", lang, message="…"))

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=t("build.step", lang, message=t(f"build.step.{message}", lang)))

        try:
            build_demo_database(path, progress=progress)
        except Exception as error:  # a user-facing failure: say what and how to fix it
            st.error(t("build.failed", lang, error=md_text(error)))
            st.stop()
        note.empty()
        bar.empty()
        st.toast(t("build.done", lang))
    return path


def _lang_from_url() -> str:
    lang = st.query_params.get("lang", DEFAULT_LANGUAGE)
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def language_switch() -> str:
    """The RU/EN switch at the top of the sidebar; its value also lives in the URL."""
    if "lang" not in st.session_state:
        st.session_state["lang"] = _lang_from_url()
    st.sidebar.segmented_control(
        t("lang.label", st.session_state["lang"] or DEFAULT_LANGUAGE),
        options=list(LANGUAGES),
        format_func=str.upper,
        key="lang",
        label_visibility="collapsed",
        on_change=_keep_a_language,
    )
    lang = st.session_state["lang"] or DEFAULT_LANGUAGE
    if st.session_state.get("_last_lang", lang) != lang:
        _relabel_choices()
    st.session_state["_last_lang"] = lang
    return lang


def localise_streamlit(lang: str) -> None:
    """Streamlit's own texts in Russian where it has no setting for them: the file uploader's button
    and size note, and the «Stop» button of a long run. Streamlit has no localisation; the texts are
    replaced by CSS (the elements' test ids are Streamlit's stable hooks, and the button keeps
    working). The ⋮ menu is switched off in .streamlit/config.toml (client.toolbarMode); the date
    picker's month names and first weekday follow the browser's language. README, "What stays
    English"."""
    # Every page: less empty space above the title (Streamlit keeps 6rem for a header that, with
    # the ⋮ menu off, holds only the sidebar's arrow), so that the Overview's cards and chart fit above
    # the fold at 1366×768.
    st.html("<style>[data-testid=\"stMainBlockContainer\"] {padding-top: 2.5rem}</style>")
    if lang == "en":
        return
    button, limit, stop = (t(k, lang).replace('"', "") for k in ("st.upload_button", "st.upload_limit", "st.stop"))
    st.html(f"""<style>
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p {{font-size: 0}}
[data-testid="stFileUploaderDropzone"] [data-testid="stBaseButton-secondary"] [data-testid="stMarkdownContainer"] p::after {{content: "{button}"; font-size: 0.875rem}}
[data-testid="stFileUploaderDropzoneInstructions"] span {{font-size: 0}}
[data-testid="stFileUploaderDropzoneInstructions"] span::after {{content: "{limit}"; font-size: 0.875rem}}
[data-testid="stStatusWidget"] button {{font-size: 0}}
[data-testid="stStatusWidget"] button::after {{content: "{stop}"; font-size: 0.875rem}}
</style>""")


# Keyed widgets that show their values through a format_func in the interface language (filters,
# page controls, the Before/after and Access pickers). A keyed widget keeps its identity when its
# labels change, and the browser then keeps showing the label it had: after RU → EN the direction
# box still said «Север». Setting the value again from the session state makes Streamlit send it
# anew, drawn with the new language's labels.
RELABELLED = ("flt_", "pg_", "cmp_", "grant_", "revoke_choice", "data_profile", "audit_action")


def _relabel_choices() -> None:
    """After a language switch: every choice widget's value sent again (see RELABELLED). Runs before
    any of them is drawn (the language switch is the first widget of a run)."""
    for key in list(st.session_state.keys()):
        if isinstance(key, str) and key.startswith(RELABELLED):
            try:
                st.session_state[key] = st.session_state[key]
            except StreamlitAPIException:  # a button or an uploader: its value cannot be set, nor needs to be
                pass


def _keep_a_language() -> None:
    """Clicking the selected language deselects it; keep the previous one instead."""
    if st.session_state.get("lang") not in LANGUAGES:
        st.session_state["lang"] = st.session_state.get("_last_lang", DEFAULT_LANGUAGE)


def auth_configured() -> bool:
    """Whether sign-in is set up: an [auth] section in .streamlit/secrets.toml."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False


def authenticate(lang: str) -> Principal:
    """Who is asking, decided before any data is read; stops the run with a plain page otherwise.

    - No [auth]: today's single-user mode, but only for a client on the loopback address.
    - [auth] and not signed in: the sign-in page (Streamlit's OpenID Connect flow, st.login).
    - Signed in with no grant: a page that says whom to ask, and no data.
    """
    if not auth_configured():
        if not access.loopback_client(st.context.ip_address):
            st.error(t("auth.remote_without_sign_in", lang))
            st.stop()
        return access.LOCAL
    if not st.user.is_logged_in:
        st.title(t("app.title", lang))
        st.info(t("auth.please_sign_in", lang))
        st.button(t("auth.sign_in", lang), on_click=st.login, type="primary", icon=":material/login:", key="sign_in")
        st.stop()
    # The e-mail names the user unless the provider says it is unverified (a self-edited address must
    # not pick up another person's grants); then the subject does.
    email = st.user.get("email") if st.user.get("email_verified") is not False else None
    identity = email or st.user.get("sub") or ""
    principal = access.resolve(identity, str(st.user.get("name") or identity))
    if st.session_state.get("_audited_sign_in") != principal.user:
        # The ID token's subject and issue time name the sign-in: a new tab or a reload is not one.
        # (A provider that sends no issue time: this browser session stands for the sign-in.)
        issued = st.user.get("iat") or st.session_state.setdefault("_session_mark", f"session-{dt.datetime.now().timestamp()}")
        login = f"sub={st.user.get('sub') or identity} iat={issued}"
        access.record_sign_in(principal.user, login, {"roles": sorted(principal.roles), "scope": principal.scope.key,
                                                      "name": str(st.user.get("name") or "")})
        st.session_state["_audited_sign_in"] = principal.user
    _who_am_i(principal, lang)
    if not principal.roles:
        st.title(t("app.title", lang))
        # Accounts from the identity provider and the grants: code, copied exactly (the "no admin" hint is ours).
        admins = ", ".join(md_code(a) for a in access.admins()) or t("auth.no_admin_yet", lang)
        st.warning(t("auth.no_grant", lang, user=md_code(principal.user), admins=admins))
        st.stop()
    return principal


def _who_am_i(principal: Principal, lang: str) -> None:
    roles = ", ".join(t(f"role.{r}", lang) for r in access.ROLES if r in principal.roles) or "—"
    # The name and the account come from the identity provider: text, and the account as code.
    st.sidebar.caption(t("auth.signed_in_as", lang, name=md_text(principal.name), user=md_code(principal.user), roles=roles))
    st.sidebar.button(t("auth.sign_out", lang), on_click=st.logout, key="sign_out", icon=":material/logout:")


def setup(principal: Principal, lang: str) -> PageContext:
    """Called by dashboard.py before the page runs: database, data facts, filters, under the
    principal's scope."""
    path = ensure_database(lang)
    version = store.data_version(path)
    source = Source(str(path), version, principal.scope)
    try:
        info = query("dataset_info", source)
        data_range = query("data_range", source)
    except Exception as error:
        st.error(t("db.unreadable", lang, path=md_text(path), error=md_text(error)))
        st.stop()
    problems = _database_problems(source)
    row = info.iloc[0]
    as_of = pd.Timestamp(row["as_of"]).to_pydatetime()
    if problems:
        # Say what is wrong and where it is repaired; only the Data and Access pages open
        # (dashboard.py), on a moment clamped into range so that they can draw their filters.
        listed = "; ".join(f"{md_text(store.problem_text(problem, lang))}: {n}" for problem, n in problems)
        st.error(t("db.broken", lang, problems=listed))
        as_of = min(max(as_of, dt.datetime(2000, 1, 2)), store.moscow_now())
    first = pd.Timestamp(data_range["first_created"].iloc[0])
    first_day = first.date() if pd.notna(first) else (as_of - dt.timedelta(days=365)).date()
    filters, target = filter_sidebar(lang, source, as_of, first_day, principal)
    ctx = PageContext(
        lang=lang,
        db_path=str(path),
        version=version,
        as_of=as_of,
        is_demo=bool(row["is_demo"]),
        source=str(row["source"]),
        filters=filters,
        target=target,
        principal=principal,
    )
    st.session_state["_ctx"] = ctx
    st.session_state["_data_broken"] = bool(problems)
    return ctx


def data_broken() -> bool:
    """Whether this run's database breaks an invariant (set by setup): the navigation then lists only
    the pages that repair it."""
    return bool(st.session_state.get("_data_broken"))


@st.cache_data(show_spinner=False, max_entries=8)
def _file_problems(path: str, version: str) -> list[tuple[str, int]]:
    return store.file_problems(path)


def _database_problems(source: Source) -> list[tuple[str, int]]:
    """The invariants the database breaks (oversight.store.file_problems), once per file version."""
    return _file_problems(source.db_path, source.version)


def setup_without_data(principal: Principal, lang: str) -> None:
    """For a principal who reads no data (an admin alone): no database, no filters."""
    st.session_state.pop("_ctx", None)
    st.session_state["_access_ctx"] = AccessContext(lang=lang, principal=principal)


def access_context() -> AccessContext:
    """The Access page's context, whether or not the principal also reads data."""
    ctx = st.session_state.get("_ctx")
    if isinstance(ctx, PageContext):
        return AccessContext(lang=ctx.lang, principal=ctx.principal)
    return st.session_state["_access_ctx"]


def refuse(ctx, what: str, value) -> None:
    """An id outside the session's scope was asked for (a URL, a search): a plain "нет доступа",
    an audit row, and nothing of its data. Stops the run."""
    refused = st.session_state.setdefault("_refused", set())
    if (what, str(value)) not in refused:  # once per session and link, not on every rerun of the page
        access.audit(ctx.principal.user, "refused", target=f"{what}={value}", detail={"scope": ctx.scope.key})
        refused.add((what, str(value)))
    st.error(t("auth.no_access", ctx.lang))
    st.stop()


def context() -> PageContext:
    """The context `setup()` computed for this run (pages call this)."""
    return st.session_state["_ctx"]


def literal(text: str) -> str:
    """Show text from a link as literal code (at most 60 characters), so it can never render as
    Markdown."""
    return md_code(" ".join(str(text).split())[:60]) or "``"


def page_header(title_key: str, ctx: PageContext) -> None:
    """Title, the demo banner on every page, the data date, and any problem with the link."""
    st.title(t(title_key, ctx.lang))
    if ctx.principal.mode == "local":  # a note, not a box: it is said on every page
        st.caption(":material/person: " + t("auth.single_user", ctx.lang))
    elif not ctx.scope.is_everything:
        st.caption(t("auth.scope_note", ctx.lang, scope=md_text(presentation.scope_label(connection(ctx), ctx.lang))))
    if ctx.is_demo:  # a demo is built, never imported into: no import's age to speak of (oversight/freshness.py)
        st.warning(t("demo.banner", ctx.lang, as_of=fmt_datetime(ctx.as_of, ctx.lang)), icon="⚠️")
    else:  # the export's moment and the last import's, one line; a warning when the import is too old
        from oversight import freshness

        loaded_at = query("dataset_info", ctx)["loaded_at"].iloc[0]
        said = freshness.note(freshness.assess(ctx.as_of, loaded_at, ctx.is_demo), ctx.lang, md_text(ctx.source))
        if said.warn:
            st.warning(said.text, icon=":material/schedule:")
        else:
            st.caption(said.text)
    # Problems with the opened link are shown once, on the first page the link opens.
    for kind, key, value in st.session_state.pop("_filter_problems", []):
        st.warning(t(f"filters.{kind}", ctx.lang, key=literal(key), value=literal(value)))
    f, prev = ctx.filters, ctx.filters.previous()
    st.caption(
        t(
            "filters.period_note",
            ctx.lang,
            start=fmt_date(f.start, ctx.lang),
            end=fmt_date(f.end, ctx.lang),
            days=f.days,
            prev_start=fmt_date(prev.start, ctx.lang),
            prev_end=fmt_date(prev.end, ctx.lang),
        )
    )
