"""schemathesis over every operation of the developer API, on a live server (API-1, REL-3).

The pinned schemathesis generates requests from the served OpenAPI document — valid and
invalid — and checks every answer: no server error, a documented status code, a documented
content type and headers, a body that conforms. Run with an agent's token and an admin's over
every operation, and with a bot client's key over the bot API, on the demo contact center.
Examples are bounded (``MAX_EXAMPLES`` per operation) and the seed fixed, so a failure replays;
set ``SCHEMATHESIS_SEED`` to explore other inputs.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token

from conversations.bots import bot_client_create
from routing.models import Workstream

pytestmark = [pytest.mark.slow]

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "15"))
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261201")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
    ]
)


@pytest.fixture
def demo_server(asgi_server, settings):
    """The demo contact center served for real, with throttles out of the way of the fuzzer."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "api_token": None, "bot": None},
    }
    call_command("demo_data", verbosity=0)
    return asgi_server


def schemathesis(server, authorization: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{server.url}/api/v1/schema/?format=json",
        "--header",
        f"Authorization: {authorization}",
        "--checks",
        CHECKS,
        "--phases",
        "examples,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        SEED,
        "--workers",
        "2",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--no-color",
        *extra,
    ]
    return subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=170, check=False)


def assert_clean(run: subprocess.CompletedProcess, *, operations: int) -> None:
    """schemathesis exits non-zero on any failed check; and it really tested every operation."""
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20_000:]
    assert f"Tested: {operations}\n" in run.stdout, output[-5_000:]


@pytest.mark.parametrize("username", ["alice", "admin"])  # an agent, an admin (demo_data)
def test_every_operation_answers_as_documented_for_an_agent_and_an_admin(demo_server, tmp_path, username):
    # spec: API-1, REL-3 — 0 server errors, 0 schema violations over every operation
    user = get_user_model().objects.get(username=username)
    run = schemathesis(demo_server, f"Token {Token.objects.create(user=user).key}", tmp_path)
    assert_clean(run, operations=63)  # every operation of the document, webhook endpoints included


def test_the_bot_api_answers_as_documented_for_a_bot_key(demo_server, tmp_path):
    # spec: API-1, REL-3, SEC-1 — the bot API with a bot client's key, granted every workstream
    _, key = bot_client_create(name="Fuzz bot", workstreams=Workstream.objects.all())
    run = schemathesis(demo_server, f"Bot {key}", tmp_path, "--include-path-regex", "^/api/v1/bot/")
    assert_clean(run, operations=4)
