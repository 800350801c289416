"""Who may use the developer API (SEC-1). A token acts with its user's rights.

Anonymous callers get 401 from authentication before these run. Which rows a permitted user
sees is decided by the apps' selectors (``conversations_visible_to``, ``queues_visible_to``…),
not here.
"""

from rest_framework.permissions import BasePermission

from agents.selectors import agent_for_user


class IsAgentOrAdmin(BasePermission):
    """Agents, supervisors and admins (staff). A user with neither role gets 403."""

    message = "Only agents, supervisors and admins may use this API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        return bool(user.is_staff or user.is_superuser or agent_for_user(user) is not None)


class IsAgent(BasePermission):
    """Only a user with an agent profile (an agent or a supervisor), e.g. for one's own presence."""

    message = "You have no agent profile."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and agent_for_user(user) is not None)
