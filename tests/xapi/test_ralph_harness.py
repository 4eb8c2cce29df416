"""The Ralph LRS harness and the fault-injecting proxy, against a real Ralph."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from lms_emulator.lrs import XAPI_HEADERS, RalphLRS
from tests.fixtures.lrs import LrsProxy, check_mode

TIMEOUT = 10


def statement(n: int) -> dict[str, Any]:
    """A complete xAPI statement: id, timestamp, an LMS account actor, a verb and an activity."""
    return {
        "id": str(uuid.uuid4()),
        "timestamp": datetime(2025, 3, 1, 12, 0, n, tzinfo=UTC).isoformat(),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": "https://lms.example.org", "name": f"learner-{n}"},
        },
        "verb": {
            "id": "http://adlnet.gov/expapi/verbs/completed",
            "display": {"en-US": "completed"},
        },
        "object": {
            "objectType": "Activity",
            "id": f"https://l2i.example.org/units/unit-{n}",
            "definition": {"name": {"en-US": f"Unit {n}"}},
        },
    }


def post(endpoint: str, auth: tuple[str, str], statements: list[dict[str, Any]]) -> requests.Response:
    return requests.post(
        endpoint + "statements", json=statements, auth=auth, headers=XAPI_HEADERS, timeout=TIMEOUT
    )


def ids(statements: list[dict[str, Any]]) -> list[str]:
    return [s["id"] for s in statements]


def test_statements_round_trip(ralph: RalphLRS) -> None:
    sent = [statement(n) for n in range(3)]

    response = post(ralph.endpoint, ralph.auth, sent)

    assert response.status_code == 200
    assert response.json() == ids(sent)
    stored = ralph.read_statements()
    assert ids(stored) == ids(sent)
    assert stored[0]["actor"] == sent[0]["actor"]
    assert stored[0]["authority"]["mbox"].startswith("mailto:")
    assert all("stored" in s for s in stored)
    answer = ralph.query(limit=10)
    assert sorted(ids(answer["statements"])) == sorted(ids(sent))
    # Ralph answers a statementId query with a one-statement list, not the bare statement.
    assert ids(ralph.query(statementId=sent[1]["id"])["statements"]) == [sent[1]["id"]]


def test_resending_the_same_statements_stores_them_once(ralph: RalphLRS) -> None:
    sent = [statement(n) for n in range(3)]
    assert post(ralph.endpoint, ralph.auth, sent).status_code == 200

    again = post(ralph.endpoint, ralph.auth, sent)

    assert again.status_code in (200, 204)
    assert ids(ralph.read_statements()) == ids(sent)
    differing = {**sent[0], "verb": {"id": "http://adlnet.gov/expapi/verbs/failed"}}
    assert post(ralph.endpoint, ralph.auth, [differing]).status_code == 409
    assert len(ralph.read_statements()) == 3


def test_proxy_passes_everything_through(ralph: RalphLRS, lrs_proxy: LrsProxy) -> None:
    sent = [statement(n) for n in range(3)]

    response = post(lrs_proxy.endpoint, ralph.auth, sent)

    assert response.status_code == 200
    assert response.json() == ids(sent)
    assert ids(ralph.read_statements()) == ids(sent)
    listed = requests.get(
        lrs_proxy.endpoint + "statements", auth=ralph.auth, headers=XAPI_HEADERS, timeout=TIMEOUT
    )
    assert listed.status_code == 200
    assert len(listed.json()["statements"]) == 3
    unauthorised = requests.get(lrs_proxy.endpoint + "statements", headers=XAPI_HEADERS, timeout=TIMEOUT)
    assert unauthorised.status_code == 401
    assert lrs_proxy.requests_seen == 3
    assert lrs_proxy.statements_forwarded == 3


def test_proxy_answers_an_injected_status_without_forwarding(ralph: RalphLRS, lrs_proxy: LrsProxy) -> None:
    lrs_proxy.mode = "status:500"

    response = post(lrs_proxy.endpoint, ralph.auth, [statement(0)])

    assert response.status_code == 500
    assert "detail" in response.json()
    assert ralph.read_statements() == []
    assert lrs_proxy.statements_forwarded == 0

    lrs_proxy.mode = "pass"
    lrs_proxy.fail_next(1, "status:400")
    assert post(lrs_proxy.endpoint, ralph.auth, [statement(1)]).status_code == 400
    assert post(lrs_proxy.endpoint, ralph.auth, [statement(2)]).status_code == 200
    assert len(ralph.read_statements()) == 1
    assert [seen.status for seen in lrs_proxy.seen] == [500, 400, 200]


def test_proxy_down_closes_the_connection_unanswered(ralph: RalphLRS, lrs_proxy: LrsProxy) -> None:
    lrs_proxy.mode = "down"

    with pytest.raises(requests.ConnectionError):
        post(lrs_proxy.endpoint, ralph.auth, [statement(0)])

    assert ralph.read_statements() == []
    assert lrs_proxy.requests_seen == 1


def test_proxy_lost_answer_then_resend_stores_once(ralph: RalphLRS, lrs_proxy: LrsProxy) -> None:
    sent = [statement(n) for n in range(2)]
    lrs_proxy.fail_next(1, "lost")

    with pytest.raises(requests.ConnectionError):
        post(lrs_proxy.endpoint, ralph.auth, sent)
    assert ids(ralph.read_statements()) == ids(sent)

    assert post(lrs_proxy.endpoint, ralph.auth, sent).status_code in (200, 204)
    assert ids(ralph.read_statements()) == ids(sent)
    assert lrs_proxy.statements_forwarded == 4


def test_proxy_delay_delays(ralph: RalphLRS, lrs_proxy: LrsProxy) -> None:
    lrs_proxy.mode = "delay:0.5"

    started = time.monotonic()
    response = post(lrs_proxy.endpoint, ralph.auth, [statement(0)])

    assert time.monotonic() - started >= 0.5
    assert response.status_code == 200
    assert len(ralph.read_statements()) == 1


def test_kill_then_restart_keeps_the_statements(ralph: RalphLRS) -> None:
    sent = [statement(n) for n in range(3)]
    assert post(ralph.endpoint, ralph.auth, sent).status_code == 200
    port = ralph.port

    ralph.kill()
    with pytest.raises(requests.ConnectionError):
        post(ralph.endpoint, ralph.auth, [statement(3)])
    ralph.restart()

    assert ralph.port == port
    assert ids(ralph.read_statements()) == ids(sent)
    assert sorted(ids(ralph.query(limit=10)["statements"])) == sorted(ids(sent))
    more = statement(4)
    assert post(ralph.endpoint, ralph.auth, [more]).status_code == 200
    assert ids(ralph.read_statements()) == [*ids(sent), more["id"]]


def test_proxy_answers_502_while_ralph_is_down(ralph: RalphLRS, lrs_proxy: LrsProxy) -> None:
    ralph.kill()

    response = post(lrs_proxy.endpoint, ralph.auth, [statement(0)])

    assert response.status_code == 502
    assert lrs_proxy.statements_forwarded == 0


def test_unknown_proxy_modes_are_refused() -> None:
    for mode in ("pass", "down", "lost", "status:503", "delay:0.25"):
        assert check_mode(mode) == mode
    for mode in ("status:abc", "status:99", "delay:-1", "delay:", "slow", "pass:1"):
        with pytest.raises(ValueError, match="unknown proxy mode"):
            check_mode(mode)
