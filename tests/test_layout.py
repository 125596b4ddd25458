"""The layout shows the layers (issue #22): only `oversight/ui/` imports streamlit, the analyses never
import the importer or the interface, and pages reach the library's functions by name.

Imports are read from the source (every `import` and `from … import`, inside functions too), so a
lazy import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from oversight.paths import ROOT

LIBRARY = ROOT / "oversight"


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, root: Path = ROOT) -> set[str]:
    """Every module `path` imports, as dotted names (`from oversight import ui` gives oversight.ui)."""
    found: set[str] = set()
    name = _module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolved against the package
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def _library_modules() -> list[Path]:
    return sorted(LIBRARY.rglob("*.py"))


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_reader_of_imports_sees_what_a_module_imports(tmp_path):
    """The checks below are only as good as this reader: lazy, aliased and relative imports found."""
    package = tmp_path / "oversight" / "analysis"
    package.mkdir(parents=True)
    module = package / "probe.py"
    module.write_text("import json\nfrom oversight import ui as u\n\ndef f():\n    import streamlit as st\n"
                      "    from ..ingest import importer\n    from . import metrics\n", encoding="utf-8")
    found = imports_of(module, tmp_path)
    assert {"json", "oversight.ui", "streamlit", "oversight.ingest.importer", "oversight.analysis.metrics"} <= found


@pytest.mark.parametrize("path", _library_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_only_the_ui_package_imports_streamlit(path):
    if _inside(_module_name(path), "oversight.ui"):
        return
    streamlit = {name for name in imports_of(path) if _inside(name, "streamlit")}
    assert not streamlit, f"{path.relative_to(ROOT)} imports {sorted(streamlit)}: Streamlit belongs in oversight/ui/"


@pytest.mark.parametrize("path", sorted((LIBRARY / "analysis").rglob("*.py")), ids=lambda p: p.name)
def test_the_analyses_never_import_the_importer_or_the_interface(path):
    wrong = {name for name in imports_of(path)
             if _inside(name, "oversight.ui") or _inside(name, "oversight.ingest")}
    assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_the_core_and_the_outputs_never_import_the_interface():
    """The layers below the pages: the core modules (store, access, filters, …), ingest and output
    are used by the command line and the tests without Streamlit."""
    wrong = {}
    for path in _library_modules():
        name = _module_name(path)
        if _inside(name, "oversight.ui"):
            continue
        ui = {imported for imported in imports_of(path) if _inside(imported, "oversight.ui")}
        if ui:
            wrong[path.relative_to(ROOT).as_posix()] = sorted(ui)
    assert not wrong, wrong


def test_every_subpackage_says_what_belongs_in_it():
    for init in sorted(LIBRARY.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and len(doc) > 200, f"{init.relative_to(ROOT)}: a docstring saying what belongs here"


def test_pages_reach_the_library_by_name_not_by_a_string():
    """`cache.cached(metrics.kpis, ctx)`, never `cached("kpis", ctx)`: go-to-definition works from
    every page, and a string registry cannot drift from the functions."""
    offenders = []
    for path in [*sorted((ROOT / "app_pages").glob("*.py")), *_library_modules()]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("cached", "cached_for")
                    and any(isinstance(arg, ast.Constant) and isinstance(arg.value, str) for arg in node.args[:2])):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, offenders


def test_the_cache_takes_only_the_librarys_analyses():
    from oversight.analysis import metrics
    from oversight.output import presentation
    from oversight.ui import cache

    assert cache.function_key(metrics.kpis) == "oversight.analysis.metrics.kpis"
    assert cache.function_key(presentation.material) == "oversight.output.presentation.material"
    for wrong in (print, lambda con, filters, as_of: None, "kpis", Path.home):
        with pytest.raises(TypeError):
            cache.function_key(wrong)


def test_pages_never_import_each_other_and_the_library_never_imports_a_page():
    pages = sorted((ROOT / "app_pages").glob("*.py"))
    for path in [*pages, *_library_modules()]:
        wrong = {name for name in imports_of(path) if _inside(name, "app_pages")}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"
