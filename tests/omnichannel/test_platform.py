"""Deployment settings and the health endpoint (SEC-3)."""

import os
import subprocess
import sys

import pytest

from tests.live import ROOT


def test_production_settings_pass_the_deployment_checks():
    # spec: SEC-3 — the production settings pass Django's deployment checks
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "omnichannel.settings.production",
        "SECRET_KEY": "k" * 20 + "a-long-random-production-secret-with-many-characters",
        "ALLOWED_HOSTS": "chat.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    # spec: SEC-3
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update({"DJANGO_SETTINGS_MODULE": "omnichannel.settings.production", "ALLOWED_HOSTS": "chat.example.com"})
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_health_reports_the_database_and_the_mode(client, settings):
    response = client.get("/health/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok"
    assert body["mode"] == ("embedded" if settings.EMBEDDED else "production")
    if not settings.EMBEDDED:
        assert body["checks"]["redis"] == "ok"


@pytest.mark.django_db
def test_health_says_degraded_when_redis_is_unreachable(client, settings):
    settings.EMBEDDED = False
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["redis"].startswith("error")
