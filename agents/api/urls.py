from django.urls import path
from rest_framework.routers import SimpleRouter

from agents.api import views

router = SimpleRouter()
router.register("presences", views.PresenceViewSet, basename="presence")

urlpatterns = [
    path("agents/me/presence/", views.AgentPresenceApi.as_view(), name="agent-me-presence"),
    *router.urls,
]
