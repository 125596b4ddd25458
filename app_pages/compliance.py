"""Compliance (Контроль): the watchlist of organisations that regularly break the e-interaction
agreement's deadlines, recording an inspection, order or fine for one of them, and how deadlines on
weekends and holidays are kept."""

from oversight import ui, ui_compliance

ctx = ui.context()
ui.page_header("compliance.title", ctx)
rule = ui_compliance.rule(ctx)
result = ui_compliance.watchlist(ctx, rule)
ui_compliance.record_event(ctx, result)
ui_compliance.weekends(ctx, rule.min_volume)
