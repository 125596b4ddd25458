"""The Data page's pieces (Данные): what data the dashboard shows, an upload with a preview of how the
file will be read, the import with a progress bar, its report, and the history of imports with the
rows each one kept aside."""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from oversight import guarded, leftovers, store
from oversight.access import AccessDenied
from oversight.i18n import fmt_datetime, fmt_number, t
from oversight.ingest import importer, profiles
from oversight.output import export
from oversight.output.presentation import md_text
from oversight.ui import cache
from oversight.ui.context import PageContext

MAX_UPLOAD_MB = 1024  # .streamlit/config.toml, server.maxUploadSize; larger files: the command line
PROFILE_CHOICES = ("auto", *profiles.PROFILE_NAMES)


def current(ctx: PageContext) -> None:
    lang = ctx.lang
    st.subheader(t("data.current", lang))
    kind = t("data.demo", lang) if ctx.is_demo else md_text(ctx.source)
    st.markdown(t("data.current_text", lang, kind=kind, as_of=fmt_datetime(ctx.as_of, lang)))


def _reason_text(code: str, lang: str, detail: str | None = None) -> str:
    return t(f"import.reason.{code}", lang, detail=detail or "")


def upload(ctx: PageContext) -> None:
    lang = ctx.lang
    st.subheader(t("data.upload", lang))
    if not ctx.principal.can("import"):  # the library refuses an import anyway (guarded.import_files)
        st.info(t("data.import_needs_role", lang))
        return
    st.caption(t("data.upload_note", lang, mb=MAX_UPLOAD_MB))
    left, right = st.columns(2)
    profile = left.selectbox(t("data.profile", lang), PROFILE_CHOICES, key="data_profile",
                             format_func=lambda p: t(f"data.profile.{p}", lang))
    as_of_text = right.text_input(t("data.as_of_input", lang), key="data_as_of", placeholder="31.12.2019 23:59",
                                  help=t("data.as_of_help", lang))
    # A new key after each import empties the uploader (Streamlit keeps a widget's files otherwise).
    files = st.file_uploader(t("data.files", lang), type=["csv", "txt", "xlsx"], accept_multiple_files=True,
                             key=f"data_files_{st.session_state.get('_upload_round', 0)}")
    own = st.session_state.get("_upload_dir")
    leftovers.clean_uploads(Path(ctx.db_path).parent, keep=own)  # others' uploads unused for two hours go
    if not files:
        if own:  # the user removed the files (or imported them): nothing of them stays on disk
            shutil.rmtree(own, ignore_errors=True)
            st.session_state.pop("_upload_dir", None)
        return
    as_of = None
    if as_of_text.strip():
        try:
            as_of = pd.to_datetime(as_of_text.strip(), dayfirst=True).to_pydatetime()
        except (ValueError, OverflowError):
            st.error(t("data.bad_as_of", lang, value=md_text(as_of_text)))
            return
    # One folder per browser session, next to the database; a file is written once, not on every rerun.
    if "_upload_dir" not in st.session_state:
        st.session_state["_upload_dir"] = tempfile.mkdtemp(prefix=".upload-", dir=Path(ctx.db_path).parent)
    folder = Path(st.session_state["_upload_dir"])
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for file in files:
        path = folder / Path(file.name).name  # the name only: never a path from the browser
        if not path.exists() or path.stat().st_size != file.size:
            path.write_bytes(file.getvalue())
        paths.append(path)
    for path, file in zip(paths, files):
        try:
            info, shown = guarded.preview(ctx.principal, path, ctx.db_path, profile, as_of, file.name)
        except (importer.ImportError_, ValueError) as error:
            st.error(t("data.unreadable", lang, file=md_text(file.name), error=md_text(error)))
            return
        _preview(info, shown, lang)
    if st.button(t("data.import_button", lang, n=len(files)), type="primary", key="data_import"):
        bar = st.progress(0.0, text=t("data.progress", lang, step=""))

        def progress(fraction: float, message: str) -> None:
            bar.progress(min(max(fraction, 0.0), 1.0), text=t("data.progress", lang, step=t(f"data.step.{message}", lang)))

        try:
            report = guarded.import_files(ctx.principal, paths, ctx.db_path, profile, as_of, progress, [f.name for f in files])
        except (importer.ImportError_, ValueError, AccessDenied) as error:
            st.error(t("data.refused", lang, error=md_text(error)))
            return
        # The data changed under the filters: start them again from the new data's defaults.
        for key in [k for k in st.session_state if str(k).startswith(("flt_", "pg_"))] + ["_filters_initialised"]:
            st.session_state.pop(key, None)
        st.session_state["_upload_round"] = st.session_state.get("_upload_round", 0) + 1
        st.session_state["_import_report"] = report
        shutil.rmtree(folder, ignore_errors=True)  # the import has its own record; the uploads go
        st.session_state.pop("_upload_dir", None)
        st.query_params.clear()
        st.rerun()


def _preview(info: importer.FileInfo, shown: pd.DataFrame, lang: str) -> None:
    # The file's name (the user's), its encoding and delimiter are text inside our bold title.
    st.markdown(t("data.preview_title", lang, file=md_text(info.name), profile=md_text(info.profile.name),
                  encoding=md_text(info.encoding or "xlsx"), delimiter=md_text(_delimiter(info.delimiter))))
    mapping = pd.DataFrame({
        t("data.col.field", lang): [t(f"import.field.{f}", lang) for f in info.positions],
        t("data.col.column", lang): [info.header[p] for p in info.positions.values()],
    })
    left, right = st.columns([1, 2])
    left.dataframe(mapping, hide_index=True, width="stretch")
    with right:
        if info.missing_required:
            st.error(t("data.missing_required", lang, fields=", ".join(t(f"import.field.{f}", lang) for f in info.missing_required)))
        if info.missing_optional:
            st.info(t("data.missing_optional", lang, fields=", ".join(t(f"import.field.{f}", lang) for f in info.missing_optional)))
        if info.ignored:
            st.caption(t("data.ignored", lang, columns=", ".join(md_text(c) for c in info.ignored[:30])))
    table = pd.DataFrame({
        t("data.col.line", lang): shown["line"],
        t("import.field.number", lang): shown["number"],
        t("import.field.created", lang): [fmt_datetime(v, lang) if pd.notna(v) else "—" for v in shown["created_at"]],
        t("import.field.deadline", lang): [fmt_datetime(v, lang) if pd.notna(v) else "—" for v in shown["due_at"]],
        t("import.field.closed", lang): [fmt_datetime(v, lang) if pd.notna(v) else "—" for v in shown["closed_at"]],
        t("import.field.municipality", lang): shown["municipality_raw"],
        t("import.field.category", lang): shown["category_raw"],
        t("data.col.verdict", lang): [t("data.will_load", lang) if r is None or pd.isna(r) else _reason_text(r, lang)
                                      for r in shown["reason"]],
    })
    st.dataframe(table, hide_index=True, width="stretch")


def _delimiter(delimiter: str | None) -> str:
    """A delimiter as one can read it: a tab is invisible (and a line of Markdown has none)."""
    return {None: "—", "": "—", "\t": "\\t"}.get(delimiter, delimiter)


def report(ctx: PageContext) -> None:
    """The last import's report, once, after the page reloaded on the new data."""
    done = st.session_state.pop("_import_report", None)
    if done is None:
        return
    lang = ctx.lang
    st.success(t("data.done", lang, read=fmt_number(done.rows_read, lang), loaded=fmt_number(done.loaded, lang),
                 rejected=fmt_number(done.rejected, lang), seconds=fmt_number(done.seconds, lang, 1)))
    st.markdown(t("data.done_detail", lang, inserted=fmt_number(done.inserted, lang), updated=fmt_number(done.updated, lang),
                  unchanged=fmt_number(done.unchanged, lang), kept=fmt_number(done.kept_newer, lang),
                  as_of=fmt_datetime(done.as_of, lang), source=t(f"data.as_of_source.{done.as_of_source}", lang)))
    if done.replaced_demo:
        st.info(t("data.demo_replaced", lang))
    for kind, names in done.created.items():
        st.caption(t("data.created", lang, kind=t(f"data.created.{kind}", lang), n=len(names),
                     names=", ".join(md_text(n) for n in names[:12]) + (" …" if len(names) > 12 else "")))
    if done.reasons:
        st.warning(t("data.reasons_title", lang))
        st.dataframe(pd.DataFrame({
            t("data.col.reason", lang): [_reason_text(code, lang) for code in done.reasons],
            t("data.col.rows", lang): list(done.reasons.values()),
        }), hide_index=True, width="stretch")
        approximate = [f["file"] for f in done.files if f.get("line_numbers") == "approximate"]
        if approximate:
            st.caption(t("data.lines_approximate", lang, files=", ".join(md_text(f) for f in approximate)))
        sample = done.rejects.head(200)
        st.dataframe(pd.DataFrame({
            t("data.col.file", lang): sample["file"], t("data.col.line", lang): sample["line"],
            t("data.col.reason", lang): [_reason_text(r, lang, d) for r, d in zip(sample["reason"], sample["detail"])],
            t("data.col.raw", lang): sample["raw"],
        }), hide_index=True, width="stretch")


def history(ctx: PageContext) -> None:
    lang = ctx.lang
    st.subheader(t("data.history", lang))
    if not ctx.scope.is_everything:  # the imports' raw rows are every direction's: not within a scope
        st.caption(t("data.history_scope", lang))
        return
    imports = cache.query("imports_all", ctx)
    if imports.empty:
        st.caption(t("data.no_imports", lang))
        return
    st.dataframe(pd.DataFrame({
        "№": imports["import_id"],
        t("data.col.when", lang): [fmt_datetime(v, lang) for v in imports["started_at"]],
        t("data.col.files", lang): [_file_names(v) for v in imports["files"]],
        t("data.col.read", lang): imports["rows_read"], t("data.col.loaded", lang): imports["loaded"],
        t("data.col.rejected", lang): imports["rejected"],
        t("data.col.as_of", lang): [fmt_datetime(v, lang) for v in imports["as_of"]],
    }), hide_index=True, width="stretch")
    rejects = guarded.download(ctx.principal, "import_rejects.xlsx", functools.partial(_rejects_xlsx, ctx), texts=True)
    st.download_button(t("data.rejects_xlsx", lang), data=rejects, key="rejects_xlsx",
                       file_name=f"rejects_{dt.date.today()}.xlsx", on_click="ignore",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _rejects_xlsx(ctx: PageContext) -> bytes:
    lang = ctx.lang
    rows = store.run(cache.connection(ctx), "import_rejects_all", limit=1_000_000)
    rows["reason_code"] = [_reason_text(r, lang, d) for r, d in zip(rows["reason_code"], rows["detail"])]
    title = export.title_lines(t("data.rejects_sheet", lang), lang, ctx.as_of, demo=ctx.is_demo)
    return export.to_xlsx_bytes({t("data.rejects_sheet", lang): rows.drop(columns="detail")}, title_lines=title, lang=lang)


def _file_names(stored: str) -> str:
    """The files of an import as a reader wants them: imports.files holds them as a JSON list."""
    try:
        names = json.loads(stored)
    except (TypeError, ValueError):  # written by hand or by an older version: shown as stored
        return str(stored)
    return ", ".join(map(str, names)) if isinstance(names, list) else str(names)
