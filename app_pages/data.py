"""Data (Данные): what the dashboard shows, and the import of real exports (ЕДС МО, Open311, Boston and
NYC 311) with a preview, a progress bar, a report of every refused row, and the history of imports."""

from oversight.ui import data_page, shell

ctx = shell.context()
shell.page_header("data.title", ctx)
data_page.report(ctx)
data_page.current(ctx)
data_page.upload(ctx)
data_page.history(ctx)
