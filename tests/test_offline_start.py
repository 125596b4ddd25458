"""Nothing leaves the machine when the server starts (issue #19): headless with no address set,
Streamlit looks the machine's external IP up on the internet to print it, a hanging request in a
closed network. .streamlit/config.toml sets browser.serverAddress, which it prints instead."""

from __future__ import annotations

import pytest
from streamlit import config, net_util
from streamlit.web import bootstrap

from oversight.paths import ROOT


@pytest.fixture
def our_config(monkeypatch):
    monkeypatch.chdir(ROOT)  # Streamlit reads ./.streamlit/config.toml
    config.get_config_options(force_reparse=True)
    yield
    config.get_config_options(force_reparse=True)


def test_the_start_banner_looks_nothing_up(our_config, monkeypatch, capsys):
    def looked_up():
        raise AssertionError("the external IP was looked up on the internet")

    monkeypatch.setattr(net_util, "get_external_ip", looked_up)
    assert config.get_option("server.headless") is True
    bootstrap._print_url(is_running_hello=False)
    assert "localhost" in capsys.readouterr().out


def test_the_menu_of_english_items_is_off(our_config):
    # «Print», «Record screen», «Made with Streamlit»: Streamlit's ⋮ menu has no Russian.
    assert config.get_option("client.toolbarMode") == "minimal"
