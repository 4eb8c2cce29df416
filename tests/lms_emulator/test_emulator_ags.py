from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lms_emulator import vocabulary as v
from lms_emulator.platform import Institution

Bearer = Callable[..., dict[str, str]]
LINEITEMS = "/linkoping/ags/c-101/lineitems"


def post_json(
    client: FlaskClient, url: str, body: Any, media_type: str, headers: dict[str, str]
) -> TestResponse:
    return client.post(url, data=json.dumps(body), content_type=media_type, headers=headers)


def score(
    user_id: str = "4", given: float = 7, timestamp: str = "2026-03-01T10:00:00.000+00:00", **extra: Any
) -> dict[str, Any]:
    return {
        "userId": user_id,
        "scoreGiven": given,
        "scoreMaximum": 10,
        "activityProgress": "Completed",
        "gradingProgress": "FullyGraded",
        "timestamp": timestamp,
        **extra,
    }


@pytest.fixture
def unit1_item(institution: Institution) -> str:
    line_item = institution.courses[0].line_item_for_link("2")
    assert line_item is not None
    return f"{LINEITEMS}/{line_item.id}"


def test_list_line_items_with_filters(client: FlaskClient, bearer: Bearer) -> None:
    headers = bearer(v.SCOPE_AGS_LINEITEM_READONLY)
    response = client.get(LINEITEMS, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == v.MEDIA_LINEITEM_CONTAINER
    items = response.get_json()
    assert len(items) == 5
    assert items[0]["id"].startswith("http://lms.test/linkoping/ags/c-101/lineitems/")
    assert items[0]["scoreMaximum"] == 100
    only = client.get(LINEITEMS, query_string={"resource_link_id": "3"}, headers=headers).get_json()
    assert [item["resourceLinkId"] for item in only] == ["3"]


def test_create_get_update_delete_line_item(client: FlaskClient, bearer: Bearer) -> None:
    headers = bearer(v.SCOPE_AGS_LINEITEM)
    body = {
        "label": "U1 quiz",
        "scoreMaximum": 12,
        "resourceId": "u1-quiz",
        "tag": "quiz",
        "resourceLinkId": "2",
    }
    created = post_json(client, LINEITEMS, body, v.MEDIA_LINEITEM, headers)
    assert created.status_code == 201
    assert created.mimetype == v.MEDIA_LINEITEM
    item = created.get_json()
    assert created.headers["Location"] == item["id"]
    assert {key: item[key] for key in body} == body
    path = item["id"].removeprefix("http://lms.test")

    by_tag = client.get(LINEITEMS, query_string={"tag": "quiz", "resource_id": "u1-quiz"}, headers=headers)
    assert [found["id"] for found in by_tag.get_json()] == [item["id"]]

    updated = client.put(
        path,
        data=json.dumps({"label": "U1 quiz (v2)", "scoreMaximum": 20, "resourceLinkId": "5"}),
        content_type=v.MEDIA_LINEITEM,
        headers=headers,
    )
    assert updated.status_code == 200
    assert updated.get_json()["label"] == "U1 quiz (v2)"
    assert updated.get_json()["resourceLinkId"] == "2", "the resource link binding does not move"
    assert client.get(path, headers=headers).get_json()["scoreMaximum"] == 20

    assert client.delete(path, headers=headers).status_code == 204
    assert client.get(path, headers=headers).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"scoreMaximum": 10},
        {"label": "x", "scoreMaximum": 0},
        {"label": "x", "scoreMaximum": True},
        {"label": "x", "scoreMaximum": 10, "resourceLinkId": "999"},
        {"label": "x", "scoreMaximum": 10, "startDateTime": "tomorrow"},
        ["not", "an", "object"],
    ],
)
def test_invalid_line_items_are_refused(client: FlaskClient, bearer: Bearer, body: Any) -> None:
    response = post_json(client, LINEITEMS, body, v.MEDIA_LINEITEM, bearer(v.SCOPE_AGS_LINEITEM))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_line_item_media_type_is_required(client: FlaskClient, bearer: Bearer) -> None:
    response = post_json(
        client, LINEITEMS, {"label": "x", "scoreMaximum": 1}, "application/json", bearer(v.SCOPE_AGS_LINEITEM)
    )
    assert response.status_code == 415


def test_services_need_a_token_with_the_right_scope(
    client: FlaskClient, bearer: Bearer, unit1_item: str
) -> None:
    no_token = client.get(LINEITEMS)
    assert no_token.status_code == 401
    assert no_token.headers["WWW-Authenticate"].startswith("Bearer")
    bogus = client.get(LINEITEMS, headers={"Authorization": "Bearer not-a-token"})
    assert bogus.status_code == 401
    assert bogus.get_json()["error"] == "invalid_token"
    readonly = bearer(v.SCOPE_AGS_LINEITEM_READONLY)
    assert client.get(LINEITEMS, headers=readonly).status_code == 200
    create = post_json(client, LINEITEMS, {"label": "x", "scoreMaximum": 1}, v.MEDIA_LINEITEM, readonly)
    assert create.status_code == 403
    assert create.get_json()["error"] == "insufficient_scope"
    assert post_json(client, f"{unit1_item}/scores", score(), v.MEDIA_SCORE, readonly).status_code == 403
    assert client.get(f"{unit1_item}/results", headers=readonly).status_code == 403
    assert client.get("/linkoping/nrps/c-101/memberships", headers=readonly).status_code == 403


def test_token_of_one_institution_is_useless_at_another(client: FlaskClient, bearer: Bearer) -> None:
    response = client.get("/ljubljana/ags/c-201/lineitems", headers=bearer())
    assert response.status_code == 401


def test_scores_are_recorded_and_older_timestamps_ignored(
    client: FlaskClient, bearer: Bearer, unit1_item: str
) -> None:
    headers = bearer(v.SCOPE_AGS_SCORE, v.SCOPE_AGS_RESULT_READONLY)
    newer = score(given=8, timestamp="2026-03-01T10:00:05.250Z", comment="Well argued")
    older = score(given=2, timestamp="2026-03-01T10:00:01+00:00")
    assert post_json(client, f"{unit1_item}/scores", newer, v.MEDIA_SCORE, headers).status_code == 204
    assert post_json(client, f"{unit1_item}/scores", older, v.MEDIA_SCORE, headers).status_code == 204

    results = client.get(f"{unit1_item}/results", headers=headers)
    assert results.mimetype == v.MEDIA_RESULT_CONTAINER
    (result,) = results.get_json()
    assert result["userId"] == "4"
    assert result["resultScore"] == pytest.approx(80.0), "8/10 scaled to the line item's maximum of 100"
    assert result["resultMaximum"] == 100
    assert result["comment"] == "Well argued"
    assert result["scoreOf"] == "http://lms.test" + unit1_item

    recorded = client.get("/linkoping/_record").get_json()["scores"]
    assert [entry["score"] for entry in recorded] == [newer, older], "scores are recorded verbatim"
    assert [entry["outcome"] for entry in recorded] == ["applied", "ignored: older than the result on record"]
    assert all(entry["time"].endswith("Z") for entry in recorded)

    latest = score(given=10, timestamp="2026-03-02T09:00:00+01:00")
    assert post_json(client, f"{unit1_item}/scores", latest, v.MEDIA_SCORE, headers).status_code == 204
    (result,) = client.get(f"{unit1_item}/results", headers=headers).get_json()
    assert result["resultScore"] == pytest.approx(100.0)


def test_results_filter_by_user(client: FlaskClient, bearer: Bearer, unit1_item: str) -> None:
    headers = bearer(v.SCOPE_AGS_SCORE, v.SCOPE_AGS_RESULT_READONLY)
    for user_id in ("4", "5", "6"):
        post_json(client, f"{unit1_item}/scores", score(user_id=user_id), v.MEDIA_SCORE, headers)
    only = client.get(f"{unit1_item}/results", query_string={"user_id": "5"}, headers=headers).get_json()
    assert [result["userId"] for result in only] == ["5"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"userId": "999"}, "userId"),
        ({"scoreGiven": 11}, "greater than scoreMaximum"),
        ({"scoreGiven": -1}, "scoreGiven"),
        ({"scoreMaximum": None}, "scoreMaximum is required"),
        ({"activityProgress": "Done"}, "activityProgress"),
        ({"gradingProgress": "Graded"}, "gradingProgress"),
        ({"timestamp": "yesterday"}, "ISO 8601"),
        ({"timestamp": "2026-03-01T10:00:00"}, "UTC offset"),
        ({"timestamp": None}, "timestamp"),
    ],
)
def test_invalid_scores_are_refused(
    client: FlaskClient, bearer: Bearer, unit1_item: str, change: dict[str, Any], words: str
) -> None:
    body = {key: value for key, value in {**score(), **change}.items() if value is not None}
    response = post_json(client, f"{unit1_item}/scores", body, v.MEDIA_SCORE, bearer(v.SCOPE_AGS_SCORE))
    assert response.status_code == 400
    assert words in response.get_json()["error_description"]
    recorded = client.get("/linkoping/_record").get_json()["scores"]
    assert recorded[-1]["outcome"].startswith("refused")


def test_extra_credit_when_the_institution_allows_it(
    client: FlaskClient, bearer: Bearer, unit1_item: str, institution: Institution
) -> None:
    institution.allow_extra_credit = True
    response = post_json(
        client, f"{unit1_item}/scores", score(given=11), v.MEDIA_SCORE, bearer(v.SCOPE_AGS_SCORE)
    )
    assert response.status_code == 204


def test_score_without_given_clears_the_result(client: FlaskClient, bearer: Bearer, unit1_item: str) -> None:
    headers = bearer(v.SCOPE_AGS_SCORE, v.SCOPE_AGS_RESULT_READONLY)
    post_json(client, f"{unit1_item}/scores", score(), v.MEDIA_SCORE, headers)
    started = {
        "userId": "4",
        "activityProgress": "Started",
        "gradingProgress": "NotReady",
        "timestamp": "2026-03-05T10:00:00Z",
    }
    assert post_json(client, f"{unit1_item}/scores", started, v.MEDIA_SCORE, headers).status_code == 204
    (result,) = client.get(f"{unit1_item}/results", headers=headers).get_json()
    assert "resultScore" not in result


def test_scores_for_unknown_line_items_and_courses(client: FlaskClient, bearer: Bearer) -> None:
    headers = bearer(v.SCOPE_AGS_SCORE)
    assert post_json(client, f"{LINEITEMS}/999/scores", score(), v.MEDIA_SCORE, headers).status_code == 404
    missing_course = post_json(
        client, "/linkoping/ags/c-999/lineitems/1/scores", score(), v.MEDIA_SCORE, headers
    )
    assert missing_course.status_code == 404
    bad_json = client.post(f"{LINEITEMS}/1/scores", data="{nope", content_type=v.MEDIA_SCORE, headers=headers)
    assert bad_json.status_code == 400


def test_gradebook_page_shows_latest_scores(client: FlaskClient, bearer: Bearer, unit1_item: str) -> None:
    headers = bearer(v.SCOPE_AGS_SCORE)
    post_json(client, f"{unit1_item}/scores", score(given=9, comment="<b>great</b>"), v.MEDIA_SCORE, headers)
    html = client.get("/linkoping/gradebook").get_data(as_text=True)
    assert "9.0 / 10.0" in html
    assert "FullyGraded" in html
    assert "&lt;b&gt;great&lt;/b&gt;" in html
    assert "<b>great</b>" not in html
