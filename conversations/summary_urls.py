"""The customer summary's workspace endpoints, under ``/workspace/conversations/<id>/summary/``."""

from django.urls import path

from conversations import summary_views as views

app_name = "summary"

urlpatterns = [
    path("", views.summary_read, name="read"),
    path("timeline/", views.timeline, name="timeline"),
    path("search/", views.search, name="search"),
    path("links/", views.link, name="link"),
    path("match/confirm/", views.match_confirm, name="match_confirm"),
    path("links/<str:kind>/unlink/", views.unlink, name="unlink"),
    path("new/<str:kind>/", views.create, name="create"),
    path("notes/", views.quick_note, name="quick_note"),
    path("skills/", views.skills, name="skills"),
]
