"""Compliance (Контроль): the watchlist of organisations that regularly break the e-interaction
agreement's deadlines, recording an inspection, order or fine for one of them, and how deadlines on
weekends and holidays are kept."""

from oversight.ui import compliance_page, shell

ctx = shell.context()
shell.page_header("compliance.title", ctx)
rule = compliance_page.rule(ctx)
result = compliance_page.watchlist(ctx, rule)
compliance_page.record_event(ctx, result)
compliance_page.weekends(ctx, rule.min_volume)
