from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsWebhookAdmin(BasePermission):
    """Admins only: staff with the webhook endpoint permission for the method (superusers have all)."""

    message = "Only admins may manage webhook endpoints."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        if request.method in SAFE_METHODS:
            return user.has_perm("webhooks.view_webhookendpoint")
        verb = {"POST": "add", "DELETE": "delete"}.get(request.method, "change")
        if getattr(view, "action", None) == "rotate_secret":
            verb = "change"
        return user.has_perm(f"webhooks.{verb}_webhookendpoint")
