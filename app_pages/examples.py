"""Seminar examples (Примеры для семинара): fair comparisons of organisations (a funnel plot and
rankings with intervals), good and poor example cards with concrete requests, a presenter mode
and the deck to take to the seminar."""

import streamlit as st

from oversight import ui, ui_examples

ctx = ui.context()
if ui_examples.is_presenting():
    volume = ui_examples.volume_from_url()
    ui_examples.presenter(ctx, ui_examples.material(ctx, volume), volume)
else:
    ui.page_header("examples.title", ctx)
    controls, present = st.columns([3, 1], vertical_alignment="bottom")
    with controls:
        volume = ui_examples.min_volume(ctx)
    with present:
        ui_examples.presenter_link(ctx)
    made = ui_examples.material(ctx, volume)
    ui_examples.funnel(ctx, made)
    ui_examples.rankings(ctx, made)
    ui_examples.example_cards(ctx, made)
    ui_examples.deck_button(ctx, made)
