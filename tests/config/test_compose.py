"""docker-compose.yml, read as Compose would (no Docker engine or compose plugin on CI machines):
the production shape it promises in the README holds together."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


def compose() -> dict:
    # Compose's own interpolation for "${NAME:-default}", with nothing set in the environment.
    text = DEFAULT.sub(lambda match: match.group(2), (ROOT / "docker-compose.yml").read_text())
    return yaml.safe_load(text)


def test_web_and_worker_run_as_replicas_behind_a_load_balancer_that_passes_websockets():
    services = compose()["services"]
    assert int(services["web"]["deploy"]["replicas"]) >= 2
    assert int(services["worker"]["deploy"]["replicas"]) >= 2
    assert "ports" not in services["web"], "replicas cannot share a host port: the load balancer publishes it"
    assert services["lb"]["ports"] == ["8000:80"]
    mount = services["lb"]["volumes"][0].split(":")
    config = (ROOT / mount[0]).read_text()
    assert "server web:8000;" in config and "proxy_pass http://web;" in config
    assert "proxy_set_header Upgrade $http_upgrade;" in config
    # Answering is durable work any worker takes; beat stays single (two would run every schedule twice).
    assert str(services["web"]["environment"]["HANDOFF_ANSWER_IN_WORKERS"]) == "1"
    assert "deploy" not in services["beat"]


def test_every_dependency_names_a_service_of_the_file():
    services = compose()["services"]
    for name, service in services.items():
        assert set(service.get("depends_on", ())) <= set(services), name
