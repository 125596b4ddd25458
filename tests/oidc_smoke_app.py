"""A minimal app for tests/test_oidc_provider.py: Streamlit's own sign-in (st.login / st.user) and nothing else."""

import streamlit as st

st.title("OIDC smoke")
if not st.user.is_logged_in:
    st.button("Sign in", on_click=st.login)
else:
    st.text(f"email: {st.user.email}")
    st.text(f"name: {st.user.name}")
    st.button("Sign out", on_click=st.logout)
