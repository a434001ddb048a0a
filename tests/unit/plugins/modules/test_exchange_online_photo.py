"""exchange_online_photo's main() with a fake Graph: arguments, check mode, both forms alike."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.m365.photos.plugins.module_utils import _graph_backend
from ansible_collections.m365.photos.plugins.modules import exchange_online_photo

from fakes import FakeBackend
from module_runner import run_module
from photo_models import jpeg, portrait

SIGN_IN = dict(tenant_id="contoso.onmicrosoft.com", client_id="11111111-2222-3333-4444-555555555555",
               client_secret="abc8Q~never-shown")
CONTENT = base64.b64encode(jpeg(portrait(700, 700), 95)).decode()


@pytest.fixture(name="graph")
def fake_graph(monkeypatch) -> FakeBackend:
    backend = FakeBackend(["alice@contoso.com"], graph=True, key="user", ref_field="user_id")
    monkeypatch.setattr(_graph_backend, "opened", backend.opener())
    return backend


def run(monkeypatch, check_mode=False, **args):
    return run_module(monkeypatch, exchange_online_photo, dict(SIGN_IN, **args), check_mode)


@pytest.mark.parametrize("max_bytes", [10240, 20000, 4000000])
def test_what_one_form_uploads_the_other_finds_right(monkeypatch, graph, max_bytes):
    first = run(monkeypatch, user="alice@contoso.com", content=CONTENT, max_bytes=max_bytes)
    assert first.result["changed"] and first.result["user_id"] == "ref-alice@contoso.com"
    bulk = run(monkeypatch, photos=[dict(user="alice@contoso.com", content=CONTENT)], max_bytes=max_bytes)
    assert not bulk.failed and not bulk.result["changed"], bulk.result
    again = run(monkeypatch, user="alice@contoso.com", content=CONTENT, max_bytes=max_bytes)
    assert not again.result["changed"], again.result


def test_check_mode_predicts_the_served_size_and_uploads_nothing(monkeypatch, graph):
    outcome = run(monkeypatch, check_mode=True, user="alice@contoso.com", content=CONTENT)
    assert outcome.result["changed"] and outcome.result["after"]["width"] == 648 and not graph.photos


@pytest.mark.parametrize("args, message", [
    (dict(user="alice@contoso.com", content=CONTENT, max_bytes=5000000), "4 MB Microsoft Graph takes"),
    (dict(user="alice@contoso.com", content=CONTENT, max_dimension=40), "at least 48 pixels"),
    (dict(user="alice@contoso.com", photos=[]), "mutually exclusive"),
])
def test_arguments_that_cannot_work_fail_with_a_sentence(monkeypatch, graph, args, message):
    outcome = run(monkeypatch, **args)
    assert outcome.failed and message in outcome.result["msg"] and not graph.calls
    assert "never-shown" not in str(outcome.result)
