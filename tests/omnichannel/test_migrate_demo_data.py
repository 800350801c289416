"""Upgrading a database with real demo data across issue 11 (the agents app) keeps every row.

The code of commit ``PRE_ISSUE_11`` migrates a scratch PostgreSQL database and loads the demo;
then today's code migrates the same database. Every table the two share keeps its row count,
no table disappears (except one renamed, named in ``RENAMED_TABLES``), and foreign keys still
resolve through today's models: an agent's skills, a conversation's agent, the supervisors'
admin permissions on agents.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
#: The last commit before issue 11 split the apps.
PRE_ISSUE_11 = "e9ef747"
#: Tables a later migration renamed: old name → new name. Their rows are compared under the new name.
RENAMED_TABLES: dict[str, str] = {}
#: Django's bookkeeping, which a migrate adds to: migrations applied, and the content types and
#: permissions of models that are new since the old commit.
GROWING_TABLES = {"django_migrations", "django_content_type", "auth_permission"}
MOVED_MODELS = ("presence", "skill", "agentprofile", "agentskill", "agentconnection")

needs_postgresql = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="the upgrade is proven on PostgreSQL, the production database (set DATABASE_URL)",
)


def server_params() -> dict:
    db = settings.DATABASES["default"]
    params = {"host": db["HOST"] or "127.0.0.1", "port": db["PORT"] or 5432, "user": db["USER"], "dbname": "postgres"}
    if db["PASSWORD"]:
        params["password"] = db["PASSWORD"]
    return params


def database_url(name: str) -> str:
    p = server_params()
    auth = p["user"] + (f":{p['password']}" if "password" in p else "")
    return f"postgres://{auth}@{p['host']}:{p['port']}/{name}"


@pytest.fixture
def scratch_database():
    # Named after this run's test database, so engineers sharing a server never meet.
    name = f"{settings.DATABASES['default']['NAME']}_upgrade"
    with psycopg.connect(**server_params(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(**server_params(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def export_commit(commit: str, into: Path) -> Path:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True, check=False, timeout=120)
    assert archive.returncode == 0, f"cannot export {commit} (a shallow clone?): {archive.stderr.decode()}"
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into


def manage(code: Path, database: str, *args: str) -> str:
    # No REDIS_URL: the commands run embedded (in-memory channel layer and broker), so nothing
    # reaches the shared Redis.
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "DJANGO_SETTINGS_MODULE"}}
    env["DATABASE_URL"] = database_url(database)
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=code, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} in {code} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def row_counts(database: str) -> dict[str, int]:
    with psycopg.connect(**{**server_params(), "dbname": database}) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name"
            )
        ]
        return {
            table: conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()[0]
            for table in tables
        }


def query(database: str, statement: str) -> list[tuple]:
    with psycopg.connect(**{**server_params(), "dbname": database}) as conn:
        return conn.execute(statement).fetchall()


#: Read through today's models (the ORM), so a foreign key that lost its way shows here.
CURRENT_READS = """
import json
from django.contrib.auth import get_user_model
from agents.models import AgentProfile
from conversations.models import Conversation
from routing.models import QueueMembership, WorkItem
print(json.dumps({
    "skills": {
        agent.user.username: sorted([skill.name, row.proficiency] for row in agent.agent_skills.all()
                                    for skill in [row.skill])
        for agent in AgentProfile.objects.select_related("user").prefetch_related("agent_skills__skill")
    },
    "skill_m2m": {
        agent.user.username: sorted(skill.name for skill in agent.skills.all())
        for agent in AgentProfile.objects.select_related("user")
    },
    "conversation_agents": {
        str(c.public_id): c.agent.user.username for c in Conversation.objects.filter(agent__isnull=False)
    },
    "queue_members": sorted([m.queue.name, m.agent.user.username] for m in QueueMembership.objects.all()),
    "work_items": WorkItem.objects.filter(agent__isnull=False).count(),
    "supervisor_may_change_agents": get_user_model().objects.get(username="supervisor").has_perm(
        "agents.change_agentprofile"
    ),
}))
"""


@needs_postgresql
def test_upgrading_a_demo_database_across_issue_11_keeps_every_row(tmp_path, scratch_database):
    # spec: issue 11 — moving the agent models to their own app moves no data
    old_code = export_commit(PRE_ISSUE_11, tmp_path / "pre-issue-11")
    manage(old_code, scratch_database, "migrate", "--no-input", "-v", "0")
    manage(old_code, scratch_database, "demo_data")
    before = row_counts(scratch_database)
    assert "routing_agentprofile" in before
    assert not query(scratch_database, "SELECT 1 FROM django_migrations WHERE app = 'agents'"), "old code ran"
    agent_skills: dict[str, list] = {}
    for username, skill, proficiency in query(
        scratch_database,
        "SELECT u.username, s.name, a_s.proficiency FROM routing_agentskill a_s "
        "JOIN routing_agentprofile a ON a.id = a_s.agent_id JOIN auth_user u ON u.id = a.user_id "
        "JOIN routing_skill s ON s.id = a_s.skill_id",
    ):
        agent_skills.setdefault(username, []).append([skill, proficiency])
    agent_skills = {username: sorted(skills) for username, skills in agent_skills.items()}
    conversation_agents = dict(
        (str(public_id), username)
        for public_id, username in query(
            scratch_database,
            "SELECT c.public_id, u.username FROM conversations_conversation c "
            "JOIN routing_agentprofile a ON a.id = c.agent_id JOIN auth_user u ON u.id = a.user_id",
        )
    )
    assert agent_skills and conversation_agents  # the demo has both, or this proves nothing

    manage(REPO, scratch_database, "migrate", "--no-input", "-v", "0")
    after = row_counts(scratch_database)

    lost = {table for table in before if RENAMED_TABLES.get(table, table) not in after}
    assert not lost, f"tables lost by the upgrade: {sorted(lost)}"
    changed = {
        table: (count, after[RENAMED_TABLES.get(table, table)])
        for table, count in before.items()
        if table not in GROWING_TABLES and after[RENAMED_TABLES.get(table, table)] != count
    }
    assert not changed, f"row counts changed (before, after): {changed}"
    for table in GROWING_TABLES:
        assert after[table] >= before[table], table

    # The moved models' content types were relabelled, not duplicated: the grants follow them.
    labels = query(
        scratch_database,
        "SELECT app_label, model FROM django_content_type WHERE model IN "
        "('presence', 'skill', 'agentprofile', 'agentskill', 'agentconnection') ORDER BY model",
    )
    assert sorted(labels) == sorted(("agents", model) for model in MOVED_MODELS)

    reads = json.loads(manage(REPO, scratch_database, "shell", "-c", CURRENT_READS).strip().splitlines()[-1])
    assert {user: skills for user, skills in reads["skills"].items() if skills} == agent_skills
    assert {user: [name for name, _ in skills] for user, skills in agent_skills.items()} == {
        user: names for user, names in reads["skill_m2m"].items() if names
    }
    assert reads["conversation_agents"] == conversation_agents
    assert len(reads["queue_members"]) == before["routing_queuemembership"] > 0
    assert reads["supervisor_may_change_agents"] is True
