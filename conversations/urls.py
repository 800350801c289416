from django.urls import include, path
from django.views.generic import RedirectView

from conversations import handover_views, inbox_views, queue_views, views

app_name = "conversations"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="conversations:dashboard", permanent=False), name="home"),
    path("workspace/", views.dashboard, name="dashboard"),
    path("workspace/login/", views.WorkspaceLoginView.as_view(), name="login"),
    path("workspace/logout/", views.WorkspaceLogoutView.as_view(), name="logout"),
    path("workspace/presence/", views.presence_set, name="presence_set"),
    path("workspace/conversations/<int:conversation_id>/", views.conversation, name="conversation"),
    path("workspace/conversations/<int:conversation_id>/summary/", include("conversations.summary_urls")),  # SUM-2..17
    path("workspace/conversations/<int:conversation_id>/handover/", handover_views.handover, name="handover"),
    path("workspace/conversations/<int:conversation_id>/transfer/", handover_views.transfer, name="transfer"),
    path("workspace/conversations/<int:conversation_id>/consult/", handover_views.consult, name="consult"),
    path("workspace/inbox/", inbox_views.inbox_panel, name="inbox_panel"),
    path("workspace/inbox-sound/", inbox_views.inbox_sound_set, name="inbox_sound_set"),
    path("workspace/search/", inbox_views.search, name="search"),
    path(
        "workspace/conversations/<int:conversation_id>/tags/", inbox_views.conversation_tags, name="conversation_tags"
    ),
    path("workspace/open-items/", queue_views.open_items, name="open_items"),
    path("workspace/open-items/<int:work_item_id>/pick/", queue_views.open_item_pick, name="open_item_pick"),
    path("workspace/desktop-notifications/", views.desktop_notifications_set, name="desktop_notifications_set"),
    path("workspace/sw.js", views.service_worker, name="service_worker"),
    path("workspace/supervisor/", views.supervisor, name="supervisor"),
    path("workspace/supervisor/state/", views.supervisor_state, name="supervisor_state"),
    path(
        "workspace/supervisor/agents/<int:agent_id>/presence-reset/",
        views.supervisor_presence_reset,
        name="supervisor_presence_reset",
    ),
]
