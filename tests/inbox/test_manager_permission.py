"""Issue 16 item 12: staff status opens the admin, not every team. Managers hold an explicit
permission (agents.MANAGER_PERMISSION, given by the "Managers" group) or are superusers."""

import pytest
from django.contrib.auth.models import Group

from agents.models import MANAGER_PERMISSION, MANAGERS_GROUP
from agents.selectors import user_is_manager
from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_agent(billing_team):
    """Sid: staff (he edits canned responses in admin) and a billing agent, not a manager."""
    return AgentFactory(user=UserFactory(username="sid", first_name="Sid", is_staff=True), teams=[billing_team])


@pytest.fixture
def team_manager(db):
    """Maya: staff in the Managers group, not a superuser."""
    user = UserFactory(username="maya", first_name="Maya", is_staff=True)
    user.groups.add(Group.objects.get(name=MANAGERS_GROUP))
    return user


def test_staff_status_alone_does_not_open_another_teams_conversation(client, staff_agent, queued_conversation):
    client.force_login(staff_agent.user)
    assert client.get(f"/inbox/c/{queued_conversation.pk}/").status_code == 404
    assert "Ada Visitor" not in client.get("/inbox/").content.decode()


def test_staff_status_alone_does_not_open_the_report_page(client, staff_agent):
    client.force_login(staff_agent.user)
    assert client.get("/admin/reports/report/").status_code == 403
    assert "/admin/reports/" not in client.get("/admin/").content.decode()


def test_the_managers_group_sees_every_team_and_the_reports(client, team_manager, queued_conversation):
    assert user_is_manager(team_manager) and team_manager.has_perm(MANAGER_PERMISSION)
    client.force_login(team_manager)
    assert client.get(f"/inbox/c/{queued_conversation.pk}/").status_code == 200
    assert client.get("/admin/reports/report/").status_code == 200


def test_the_permission_without_staff_status_or_an_inactive_manager_is_no_manager(team_manager, manager):
    team_manager.is_staff = False
    assert not user_is_manager(team_manager)
    manager.is_active = False
    assert not user_is_manager(manager)
