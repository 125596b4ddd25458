"""The app's pages, in one list: dashboard.py builds the navigation from it and the smoke and
browser tests iterate over it, so every page added here is tested from its first day."""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class PageSpec:
    script: str  # path of the page file, relative to the project root
    url_path: str  # the page's URL (the default page is served at "/")
    nav_key: str  # i18n key of the navigation label
    heading_key: str  # i18n key of the page's H1
    icon: str
    default: bool = False
    needs: str = "read"  # the permission (oversight.access.PERMISSIONS) the page's content needs

    @property
    def url(self) -> str:
        """Path to open in a browser."""
        return "/" if self.default else f"/{self.url_path}"


PAGES: tuple[PageSpec, ...] = (
    PageSpec("app_pages/overview.py", "overview", "page.overview", "overview.title", ":material/dashboard:", default=True),
    PageSpec("app_pages/backlog.py", "backlog", "page.backlog", "backlog.title", ":material/trending_up:"),
    PageSpec("app_pages/map.py", "map", "page.map", "map.title", ":material/map:"),
    PageSpec("app_pages/drill.py", "drill", "page.drill", "drill.title", ":material/account_tree:"),
    PageSpec("app_pages/compare.py", "compare", "page.compare", "compare.title", ":material/compare_arrows:"),
    PageSpec("app_pages/compliance.py", "compliance", "page.compliance", "compliance.title", ":material/gavel:"),
    PageSpec("app_pages/examples.py", "examples", "page.examples", "examples.title", ":material/co_present:"),
    PageSpec("app_pages/data.py", "data", "page.data", "data.title", ":material/upload_file:"),
    PageSpec("app_pages/access.py", "access", "page.access", "access.title", ":material/admin_panel_settings:",
             needs="manage_access"),
)


REPAIR_PAGES = ("data", "access")  # what a database that breaks an invariant still shows: where to repair it


def pages_for(principal, data_broken: bool = False) -> tuple[PageSpec, ...]:
    """The pages a principal's navigation lists (each page's content checks again in the library).
    With data_broken (the database breaks an invariant: oversight.store.file_problems) only the Data
    page, where a sane import repairs it, and the Access page: no page shows numbers it cannot trust."""
    allowed = tuple(p for p in PAGES if principal.can(p.needs) and (p.needs != "read" or principal.reads_data)
                    and (not data_broken or p.url_path in REPAIR_PAGES))
    if data_broken:
        allowed = tuple(replace(p, default=False) for p in allowed)
    if allowed and not any(p.default for p in allowed):  # an admin alone: the Access page opens first
        allowed = (replace(allowed[0], default=True), *allowed[1:])
    return allowed
