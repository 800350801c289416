"""The developer API, version 1 (API-1): the apps' endpoints and the OpenAPI document."""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from core.api import not_found

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("", include("customers.api.urls")),
    path("", include("conversations.api.urls")),
    path("", include("agents.api.urls")),
    path("", include("routing.api.urls")),
    path("", include("webhooks.api.urls")),  # API-2
    re_path(r"", not_found),  # last: whatever names no endpoint is a JSON 404
]
