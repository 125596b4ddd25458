"""Seminar examples (Примеры для семинара): fair comparisons of organisations (a funnel plot and
rankings with intervals), good and poor example cards with concrete requests, a presenter mode
and the deck to take to the seminar."""

import streamlit as st

from oversight.ui import examples_page, shell

ctx = shell.context()
if examples_page.is_presenting():
    volume = examples_page.volume_from_url()
    examples_page.presenter(ctx, examples_page.material(ctx, volume), volume)
else:
    shell.page_header("examples.title", ctx)
    controls, present = st.columns([3, 1], vertical_alignment="bottom")
    with controls:
        volume = examples_page.min_volume(ctx)
    with present:
        examples_page.presenter_link(ctx)
    made = examples_page.material(ctx, volume)
    examples_page.funnel(ctx, made)
    examples_page.rankings(ctx, made)
    examples_page.example_cards(ctx, made)
    examples_page.deck_button(ctx, made)
