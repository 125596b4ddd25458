"""Before/after (До и после): did missed deadlines change after a seminar, an inspection or an
order, and how sure can one be: raw figures beside intervals and the difference-in-differences."""

from oversight import ui, ui_compare

ctx = ui.context()
ui.page_header("compare.title", ctx)
ui_compare.comparison(ctx)
ui_compare.register(ctx)
