from django.urls import path
from rest_framework.routers import SimpleRouter

from conversations.api import bot, composer, summary_views, tags_search, views

router = SimpleRouter()
router.register("conversations", views.ConversationViewSet, basename="conversation")

summary = "conversations/<int:conversation_id>/"
summary_urlpatterns = [
    # The customer summary of a conversation (SUM-2..17).
    path(f"{summary}summary/", summary_views.ConversationSummaryApi.as_view(), name="conversation-summary"),
    path(f"{summary}timeline/", summary_views.ConversationTimelineApi.as_view(), name="conversation-timeline"),
    path(f"{summary}links/", summary_views.ConversationLinkApi.as_view(), name="conversation-link"),
    path(f"{summary}links/<str:kind>/", summary_views.ConversationUnlinkApi.as_view(), name="conversation-unlink"),
    path(f"{summary}quick-notes/", summary_views.ConversationQuickNoteApi.as_view(), name="conversation-quick-note"),
    path(f"{summary}skills/", summary_views.ConversationSkillsApi.as_view(), name="conversation-skills"),
]

urlpatterns = [
    *summary_urlpatterns,
    # Issue 15: tags and search (before the router: "search" is not a conversation id).
    path("tags/", tags_search.TagListApi.as_view(), name="tag-list"),
    path("conversations/search/", tags_search.ConversationSearchApi.as_view(), name="conversation-search"),
    path(f"{summary}tags/", tags_search.ConversationTagAddApi.as_view(), name="conversation-tag-add"),
    path(
        f"{summary}tags/<int:tag_id>/", tags_search.ConversationTagRemoveApi.as_view(), name="conversation-tag-remove"
    ),
    path("bot/conversations/", bot.BotConversationStartApi.as_view(), name="bot-conversation-start"),
    path(
        "bot/conversations/<int:conversation_id>/messages/",
        bot.BotMessageApi.as_view(),
        name="bot-conversation-messages",
    ),
    path(
        "bot/conversations/<int:conversation_id>/escalate/",
        bot.BotEscalateApi.as_view(),
        name="bot-conversation-escalate",
    ),
    # Issue 15: canned responses, the wrap-up code and closing.
    path("canned-responses/", composer.CannedResponseListApi.as_view(), name="canned-responses"),
    path("canned-responses/<int:canned_id>/", composer.CannedResponseDetailApi.as_view(), name="canned-response"),
    path(
        "conversations/<int:conversation_id>/wrap-up-code/",
        composer.ConversationWrapUpCodeApi.as_view(),
        name="conversation-wrap-up-code",
    ),
    path(
        "conversations/<int:conversation_id>/close/", composer.ConversationCloseApi.as_view(), name="conversation-close"
    ),
    path(
        "conversations/<int:conversation_id>/messages/",
        views.ConversationMessageListApi.as_view(),
        name="conversation-messages",
    ),
    *router.urls,
]
