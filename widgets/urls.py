"""The widget's public endpoints, mounted at ``/widget/`` (docs/live-chat-protocol.md).

Paths take a trailing slash or none: the script is pasted into other people's sites, so a
caller's habit should not turn into a redirect a cross-origin POST cannot follow.
"""

from django.urls import re_path

from widgets import invitation_views, views

app_name = "widgets"

KEY = r"^(?P<key>[0-9a-fA-F-]{32,36})"
INVITATION = r"(?P<invitation>[0-9a-fA-F-]{32,36})"

urlpatterns = [
    re_path(rf"{KEY}/session/?$", views.WidgetSessionApi.as_view(), name="session"),
    re_path(rf"{KEY}/chats/?$", views.WidgetChatStartApi.as_view(), name="chats"),
    re_path(rf"{KEY}/chats/end/?$", views.WidgetChatEndApi.as_view(), name="chat-end"),
    re_path(rf"{KEY}/attachments/?$", views.WidgetAttachmentApi.as_view(), name="attachments"),  # issue 16
    re_path(rf"{KEY}/availability/?$", views.WidgetAvailabilityApi.as_view(), name="availability"),
    re_path(rf"{KEY}/transcript/?$", views.WidgetTranscriptApi.as_view(), name="transcript"),
    re_path(rf"{KEY}/transcript/email/?$", views.WidgetTranscriptEmailApi.as_view(), name="transcript-email"),
    re_path(rf"{KEY}/survey/?$", views.WidgetSurveyApi.as_view(), name="survey"),
    re_path(rf"{KEY}/offline/?$", views.WidgetOfflineMessageApi.as_view(), name="offline"),
    re_path(rf"{KEY}/actions/?$", views.WidgetActionApi.as_view(), name="actions"),
    # Proactive invitations (PRO-4, PRO-5, PRO-7).
    re_path(rf"{KEY}/invitations/?$", invitation_views.WidgetInvitationCreateApi.as_view(), name="invitations"),
    re_path(
        rf"{KEY}/invitations/{INVITATION}/accept/?$",
        invitation_views.WidgetInvitationAcceptApi.as_view(),
        name="invitation-accept",
    ),
    re_path(
        rf"{KEY}/invitations/{INVITATION}/dismiss/?$",
        invitation_views.WidgetInvitationDismissApi.as_view(),
        name="invitation-dismiss",
    ),
]
