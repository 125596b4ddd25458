"""Before/after (До и после): did missed deadlines change after a seminar, an inspection or an
order, and how sure can one be: raw figures beside intervals and the difference-in-differences."""

from oversight import ui, ui_compare

ctx = ui.context()
ui.page_header("compare.title", ctx)
periods, treated, orgs, event_date = ui_compare.choose(ctx)
ui_compare.results(ctx, periods, treated, orgs, event_date)
ui_compare.register(ctx)
