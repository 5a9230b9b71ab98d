import pytest
from django.core.exceptions import ImproperlyConfigured

from config.database_url import parse_database_url
from config.env import env_bool, env_budget, env_choice, env_int, env_list


def test_env_bool_reads_common_spellings(monkeypatch):
    monkeypatch.setenv("FLAG", "Yes")
    assert env_bool("FLAG") is True
    monkeypatch.setenv("FLAG", "off")
    assert env_bool("FLAG", True) is False


def test_env_bool_rejects_nonsense_with_the_variable_name(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="DEBUG"):
        env_bool("DEBUG")


def test_env_int_rejects_non_numbers_and_values_below_the_minimum(monkeypatch):
    monkeypatch.setenv("WORKERS", "two")
    with pytest.raises(ImproperlyConfigured, match="WORKERS must be a whole number"):
        env_int("WORKERS", 1)
    monkeypatch.setenv("WORKERS", "-1")
    with pytest.raises(ImproperlyConfigured, match="at least 0"):
        env_int("WORKERS", 1, minimum=0)


def test_env_list_drops_blanks(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", "a.example, b.example,")
    assert env_list("ALLOWED_HOSTS", []) == ["a.example", "b.example"]


def test_env_choice_lists_the_valid_values(monkeypatch):
    monkeypatch.setenv("HANDOFF_LLM_PROVIDER", "gpt")
    with pytest.raises(ImproperlyConfigured, match="none, ollama, openai"):
        env_choice("HANDOFF_LLM_PROVIDER", "none", {"none", "openai", "ollama"})


@pytest.mark.parametrize("raw", ["10,600", "ten,600,600", "10,0,600", "10,600,600,1"])
def test_env_budget_needs_three_positive_whole_numbers(monkeypatch, raw):
    monkeypatch.setenv("WIDGET_BUDGET_HANDOFF", raw)
    with pytest.raises(ImproperlyConfigured, match="WIDGET_BUDGET_HANDOFF must be three whole numbers"):
        env_budget("WIDGET_BUDGET_HANDOFF", (3, 120, 600))
    monkeypatch.setenv("WIDGET_BUDGET_HANDOFF", " 5,50,60 ")
    assert env_budget("WIDGET_BUDGET_HANDOFF", (3, 120, 600)) == (5, 50, 60)


def test_database_url_is_parsed_into_django_settings():
    parsed = parse_database_url("postgres://app:s%40cret@db.internal:6543/handoff?sslmode=require")
    assert parsed["ENGINE"] == "django.db.backends.postgresql"
    assert (parsed["NAME"], parsed["USER"], parsed["PASSWORD"]) == ("handoff", "app", "s@cret")
    assert (parsed["HOST"], parsed["PORT"]) == ("db.internal", "6543")
    assert parsed["OPTIONS"] == {"sslmode": "require"}


def test_database_url_must_be_postgres():
    with pytest.raises(ImproperlyConfigured, match="PostgreSQL"):
        parse_database_url("sqlite:///db.sqlite3")
    with pytest.raises(ImproperlyConfigured, match="name a database"):
        parse_database_url("postgres://localhost:5432/")


def test_a_bad_setting_stops_start_up_with_a_clear_message(tmp_path):
    import subprocess
    import sys

    from tests.support.services import ROOT

    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "HANDOFF_DATA_DIR": str(tmp_path),
            "REDIS_URL": "localhost:6379",
        },
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "REDIS_URL must start with redis://" in result.stderr


def test_the_secret_key_is_generated_once_into_the_data_dir(tmp_path):
    import subprocess
    import sys

    from tests.support.services import ROOT

    script = "from django.conf import settings; print(settings.SECRET_KEY)"
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", "HANDOFF_DATA_DIR": str(tmp_path)}
    first = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    second = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
    assert first.stdout.strip() and first.stdout == second.stdout
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first.stdout.strip()
    assert key_file.stat().st_mode & 0o077 == 0, "the generated key must be readable by its owner only"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "False prefork None"),  # a laptop: nothing but Python, answers in the web process
        ({"REDIS_URL": "redis://127.0.0.1:6379/0"}, "True prefork None"),  # one worker process per core
        ({"REDIS_URL": "redis://127.0.0.1:6379/0", "HANDOFF_ANSWER_IN_WORKERS": "0"}, "False prefork None"),
        (
            {"REDIS_URL": "redis://127.0.0.1:6379/0", "HANDOFF_LLM_PROVIDER": "openai", "HANDOFF_LLM_MODEL": "m"},
            "True threads 32",
        ),
    ],
)
def test_with_redis_workers_answer_visitors_by_default(tmp_path, env, expected):
    """Issue 12: at saturation, answers in workers kept acks 3x quicker than answers in the web
    process's threads, for the same answers per second (README, Production)."""
    import subprocess
    import sys

    from tests.support.services import ROOT

    script = (
        "from config.celery import app; from django.conf import settings; "
        "print(settings.HANDOFF_ANSWER_IN_WORKERS, app.conf.worker_pool, app.conf.worker_concurrency)"
    )
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings", "HANDOFF_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr
