from django.conf import settings
from django.db import connection
from django.http import Http404, JsonResponse
from django.utils import translation
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET
from django.views.i18n import JavaScriptCatalog

_catalog_view = JavaScriptCatalog.as_view(domain="djangojs")


@require_GET
@cache_control(max_age=300)
def javascript_catalog(request, language: str):
    """The scripts' words in ``language`` (I18N-1): Django's JavaScriptCatalog for the djangojs
    domain. The language is in the address, so the agent's own setting (not the browser's)
    decides it and a cache never mixes two languages."""
    if language not in dict(settings.LANGUAGES):
        raise Http404
    with translation.override(language):
        return _catalog_view(request)


@never_cache
@require_GET
def health(request):
    """Liveness and readiness for load balancers: the database answers, the mode is known."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # report, don't raise: this endpoint exists to say what's down
        checks["database"] = f"error: {exc.__class__.__name__}"
    if not settings.EMBEDDED:
        import redis  # only checked where Redis is configured (the embedded mode has none)

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {exc.__class__.__name__}"
    healthy = all(value == "ok" for value in checks.values())
    body = {
        "status": "ok" if healthy else "degraded",
        "mode": "embedded" if settings.EMBEDDED else "production",
        "checks": checks,
    }
    return JsonResponse(body, status=200 if healthy else 503)
