"""Helpers for tests of the REST API: a client that sends a user's token, the ids of a list page."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


def token_client(user) -> APIClient:
    """An API client that authenticates as ``user`` with the user's token (made once)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def ids(response) -> list[int]:
    """The sorted ids of a paginated list answer, which must be a 200."""
    assert response.status_code == 200, response.json()
    return sorted(row["id"] for row in response.json()["results"])
