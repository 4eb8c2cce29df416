from __future__ import annotations

import re
from html.parser import HTMLParser

from flask.testing import FlaskClient
from markupsafe import escape

from lms_emulator.app import create_emulator_app
from lms_emulator.platform import EmulatorConfig, Institution, default_seed


class LinkCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.iframes: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "iframe":
            self.iframes.append(values)


def collect(html: str) -> LinkCollector:
    collector = LinkCollector()
    collector.feed(html)
    return collector


def test_index_lists_institutions_with_registration(
    client: FlaskClient, emulator_config: EmulatorConfig
) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    for institution in emulator_config.institutions:
        assert escape(institution.name) in html
        assert institution.client_id in html
        assert institution.auth_token_url in html
        assert f"/{institution.slug}/" in collect(html).hrefs


def test_course_page_has_a_launch_for_every_user_and_link(
    client: FlaskClient, institution: Institution
) -> None:
    response = client.get("/linkoping/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r"<h1>Linköping R&amp;D Centre \(demo\)</h1>", html)
    assert "<caption>" in html and 'scope="col"' in html and 'scope="row"' in html
    hrefs = collect(html).hrefs
    launchers = [user for user in institution.users if user.launches]
    links = institution.courses[0].links
    frames = [
        href for href in hrefs if href.startswith("/linkoping/frame?") and "message=deeplink" not in href
    ]
    windows = [href for href in hrefs if href.startswith("/linkoping/launch?")]
    assert len(frames) == len(launchers) * len(links) == len(windows)
    assert all("target=window" in href for href in windows)
    deep_links = [href for href in hrefs if "message=deeplink" in href]
    assert len(deep_links) == len([user for user in institution.users if user.places_content]) == 3
    assert "/linkoping/gradebook" in hrefs
    assert "Līga Ozola" in html, "roster-only learners are listed among the people"
    assert html.count("Launch<span") == len(frames)


def test_frame_page_embeds_the_launch(client: FlaskClient) -> None:
    response = client.get("/linkoping/frame?user=4&link=3")
    assert response.status_code == 200
    (iframe,) = collect(response.get_data(as_text=True)).iframes
    assert iframe["src"] is not None
    assert iframe["src"].startswith("/linkoping/launch?")
    assert "target=iframe" in iframe["src"] and "user=4" in iframe["src"] and "link=3" in iframe["src"]
    assert iframe["title"]
    redirect = client.get(iframe["src"])
    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith("http://tool.test/lti/login?")


def test_frame_page_for_unknown_user_is_404(client: FlaskClient) -> None:
    assert client.get("/linkoping/frame?user=404&link=1").status_code == 404


def test_return_page_shows_and_escapes_tool_messages(client: FlaskClient) -> None:
    html = client.get("/linkoping/return?course=c-101&lti_msg=Done+%3Cb%3E&lti_errormsg=Oops").get_data(
        as_text=True
    )
    assert "Done &lt;b&gt;" in html
    assert "Oops" in html


def test_unknown_institution_is_404(client: FlaskClient) -> None:
    assert client.get("/atlantis/").status_code == 404
    assert client.get("/atlantis/launch?user=4&link=1").status_code == 404


def test_record_endpoint_is_json(client: FlaskClient, institution: Institution) -> None:
    response = client.get("/linkoping/_record")
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["registration"]["client_id"] == institution.client_id
    assert body["courses"][0]["links"][0]["title"] == "L2I programme"


def test_apps_are_independent() -> None:
    first = create_emulator_app(default_seed("http://a.test", "http://tool.test"))
    second = create_emulator_app(default_seed("http://b.test", "http://tool.test"))
    kid_a = first.test_client().get("/linkoping/jwks").get_json()["keys"][0]["kid"]
    kid_b = second.test_client().get("/linkoping/jwks").get_json()["keys"][0]["kid"]
    assert kid_a != kid_b
    assert "http://b.test/linkoping" in second.test_client().get("/").get_data(as_text=True)
