from django.urls import path
from rest_framework.routers import SimpleRouter

from customers.api import views

router = SimpleRouter()
router.register("contacts", views.ContactViewSet, basename="contact")
router.register("accounts", views.AccountViewSet, basename="account")
router.register("cases", views.CaseViewSet, basename="case")
router.register("notes", views.NoteViewSet, basename="note")

summary = "conversations/<int:conversation_id>/"
urlpatterns = [
    # The customer summary of a conversation (SUM-2..17).
    path(f"{summary}summary/", views.ConversationSummaryApi.as_view(), name="conversation-summary"),
    path(f"{summary}timeline/", views.ConversationTimelineApi.as_view(), name="conversation-timeline"),
    path(f"{summary}links/", views.ConversationLinkApi.as_view(), name="conversation-link"),
    path(f"{summary}links/<str:kind>/", views.ConversationUnlinkApi.as_view(), name="conversation-unlink"),
    path(f"{summary}quick-notes/", views.ConversationQuickNoteApi.as_view(), name="conversation-quick-note"),
    path(f"{summary}skills/", views.ConversationSkillsApi.as_view(), name="conversation-skills"),
    *router.urls,
]
