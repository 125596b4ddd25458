"""Before/after (До и после): did missed deadlines change after a seminar, an inspection or an
order, and how sure can one be: raw figures beside intervals and the difference-in-differences."""

from oversight.ui import compare_page, shell

ctx = shell.context()
shell.page_header("compare.title", ctx)
compare_page.comparison(ctx)
compare_page.register(ctx)
