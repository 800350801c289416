from django.urls import include, path
from django.views.generic import RedirectView

from conversations import attachment_views, canned_views, handover_views, inbox_views, queue_views, views

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
    path(  # issue 16
        "workspace/conversations/<int:conversation_id>/attachments/",
        attachment_views.attachment_upload,
        name="attachment_upload",
    ),
    path("attachments/<str:token>/", attachment_views.attachment_download, name="attachment_download"),
    path("avatars/<str:token>/", attachment_views.agent_avatar, name="agent_avatar"),
    path("workspace/inbox/", inbox_views.inbox_panel, name="inbox_panel"),
    path("workspace/inbox-sound/", inbox_views.inbox_sound_set, name="inbox_sound_set"),
    path("workspace/language/", inbox_views.language_set, name="language_set"),
    path("workspace/search/", inbox_views.search, name="search"),
    path(
        "workspace/conversations/<int:conversation_id>/tags/", inbox_views.conversation_tags, name="conversation_tags"
    ),
    path("workspace/open-items/", queue_views.open_items, name="open_items"),
    # Issue 15: the agent's own canned responses.
    path("workspace/canned-responses/", canned_views.canned_responses, name="canned_responses"),
    path("workspace/canned-responses/<int:canned_id>/", canned_views.canned_response_edit, name="canned_response_edit"),
    path(
        "workspace/canned-responses/<int:canned_id>/delete/",
        canned_views.canned_response_remove,
        name="canned_response_delete",
    ),
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
