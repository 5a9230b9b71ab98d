"""schemathesis against /api/schema/ on a real Daphne server, with a manager's token and an agent's.

Every check runs except positive_data_acceptance: that one expects any schema-valid request to be
accepted, but a schema cannot say "an id of a row that exists" or "no NUL characters", so it would
flag every correct 400 for a missing team or a NUL byte. Everything else (no 5xx, responses, status
codes, content types and headers as documented, schema-violating requests refused, auth enforced)
must pass. Bounded to keep `make test` short: the fuzzing and stateful phases, 5 examples per operation
(SCHEMATHESIS_PHASES, SCHEMATHESIS_MAX_EXAMPLES); the coverage phase (~1,700 more cases per token) runs
with SCHEMATHESIS_PHASES=coverage,fuzzing,stateful.
"""

import os
import re
import subprocess

import pytest

from api.models import ApiToken
from api.tokens import api_token_issue
from handoff.services import handoff_request
from knowledge.models import Article, Source
from tests.conftest import LOG_DIR
from tests.factories import ConversationFactory, MessageFactory
from tests.support import services
from triggers.models import TriggerRule

MAX_EXAMPLES = os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "5")
PHASES = os.environ.get("SCHEMATHESIS_PHASES", "fuzzing,stateful")
pytestmark = [pytest.mark.live_server, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def api_server(redis_url, django_db_setup, django_db_blocker):
    # Rate limits are tested elsewhere; here they would only turn fuzzing into 429s.
    with services.daphne(
        redis_url=redis_url, log_path=LOG_DIR / "daphne-schemathesis.log", API_RATE_LIMIT="1000000/minute"
    ) as url:
        yield url


@pytest.fixture
def desk(support_team, agent, manager):
    """Something for every operation to find: a waiting conversation, an article, a source, a rule."""
    conversation = ConversationFactory(customer__external_id="crm-1")
    MessageFactory(conversation=conversation, text="Where is my order?")
    handoff_request(conversation=conversation, reason="Visitor asked for a person", team=support_team)
    Article.objects.create(title="Shipping", body="Orders ship within 2 working days.")
    Source.objects.create(name="Typed in")
    TriggerRule.objects.create(name="Person", conditions=[{"kind": "explicit_request"}])


def schemathesis(base_url: str, user, tmp_path) -> tuple[int, str]:
    scopes = ["read", "write", "channel"]  # an agent's token with "channel" still gets 403s there: managers' only
    secret = api_token_issue(token=ApiToken(user=user, name="schemathesis", scopes=scopes))
    result = subprocess.run(
        [
            services.python_bin("schemathesis"),
            "run",
            f"{base_url}/api/schema/",
            "--header",
            f"Authorization: Bearer {secret}",
            "--checks",
            "all",
            "--exclude-checks",
            "positive_data_acceptance",
            "--phases",
            PHASES,
            "--max-examples",
            MAX_EXAMPLES,
            "--workers",
            "1",
            "--seed",
            "13",
            "--no-shrink",
            "--request-timeout",
            "20",
        ],
        cwd=tmp_path,  # its cache directory goes there, not into the repository
        capture_output=True,
        text=True,
        timeout=400,
    )
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("who", ["manager", "agent"])
def test_schemathesis_finds_no_server_error_and_no_schema_violation(api_server, desk, who, manager, agent, tmp_path):
    user = manager if who == "manager" else agent.user
    code, output = schemathesis(api_server, user, tmp_path)
    (LOG_DIR / f"schemathesis-{who}.log").write_text(output)
    summary = re.search(r"(\d+) generated, (\d+) (?:passed|found)", output)
    assert code == 0, output[-6000:]
    assert summary and int(summary.group(1)) > 50, output[-3000:]
    print(f"schemathesis ({who}): {summary.group(0)}")
