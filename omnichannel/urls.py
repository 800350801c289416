from django.contrib import admin
from django.urls import include, path

from omnichannel import views

urlpatterns = [
    path("health/", views.health, name="health"),
    path("jsi18n/<str:language>/", views.javascript_catalog, name="javascript_catalog"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("omnichannel.api_urls")),
    path("widget/", include("widgets.urls")),
    path("channels/", include("conversations.channels.urls")),  # SMS and voice providers
    path("", include("conversations.urls")),
]
