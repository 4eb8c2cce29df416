"""The demo's own LRS: a learner's launch in the demo LMS reaches a real Ralph through the worker."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
import requests

from lti_tool.demo import attach_demo_lrs, start_demo_worker
from tests.e2e.support import demo_settings, first_learner, launch_from_emulator, running_demo
from tests.fixtures.servers import free_port
from xapi import vocabulary as x
from xapi.validation import statement_problems


@pytest.mark.slow
def test_the_demo_delivers_a_learners_statements_to_its_ralph(tmp_path: Path) -> None:
    port, lms_port = free_port(), free_port()
    settings = demo_settings(f"sqlite:///{tmp_path / 'demo.sqlite3'}", tmp_path, port)
    settings, lrs = attach_demo_lrs(settings)
    assert lrs is not None, "the demo starts a local Ralph when no LRS is configured"
    try:
        with running_demo(settings, port, lms_port) as demo:
            stop = start_demo_worker(settings)
            try:
                learner = first_learner(demo.emulator.institutions[0])
                with requests.Session() as browser:
                    launch_from_emulator(browser, demo, learner)
                deadline = time.monotonic() + 20
                while not lrs.read_statements() and time.monotonic() < deadline:
                    time.sleep(0.2)
            finally:
                stop.set()
        stored = lrs.read_statements()
    finally:
        lrs.stop()
    assert [s["verb"]["id"] for s in stored] == [x.VERB_LAUNCHED]
    launched = {k: v for k, v in stored[0].items() if k not in ("stored", "authority")}
    assert statement_problems(launched) == []
    assert launched["object"]["id"] == f"{settings.base_url}/programme"
    assert launched["context"]["platform"] == demo.emulator.institutions[0].name


def test_a_configured_lrs_is_used_as_it_is(tmp_path: Path) -> None:
    settings = demo_settings("sqlite://", tmp_path, 8000)
    configured = dataclasses.replace(settings, lrs_endpoint="http://127.0.0.1:9/xAPI")
    same, lrs = attach_demo_lrs(configured)
    assert lrs is None and same is configured
