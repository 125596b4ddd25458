"""Data (Данные): what the dashboard shows, and the import of real exports (ЕДС МО, Open311, Boston and
NYC 311) with a preview, a progress bar, a report of every refused row, and the history of imports."""

from oversight import ui, ui_data

ctx = ui.context()
ui.page_header("data.title", ctx)
ui_data.report(ctx)
ui_data.current(ctx)
ui_data.upload(ctx)
ui_data.history(ctx)
