"""Workspaces, people with roles and the demo bot, made through the same services the product uses."""

import pytest
from django.contrib.auth import get_user_model

from bots.demo import seed_demo_bot
from bots.models import Membership, Workspace


def make_user(workspace, role, username, *, staff=True):
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw-for-tests-1", is_staff=staff)
    Membership.objects.create(user=user, workspace=workspace, role=role)
    return user


@pytest.fixture
def acme(db):
    return Workspace.objects.create(name="Acme", slug="acme")


@pytest.fixture
def globex(db):
    return Workspace.objects.create(name="Globex", slug="globex")


@pytest.fixture
def builder(acme):
    return make_user(acme, Membership.Role.BUILDER, "bea")


@pytest.fixture
def outsider(globex):
    """A builder of another workspace."""
    return make_user(globex, Membership.Role.OWNER, "otto")


@pytest.fixture
def demo_bot(acme, builder):
    return seed_demo_bot(acme, builder)
