from django.urls import path
from rest_framework.routers import SimpleRouter

from routing.api import views

router = SimpleRouter()
router.register("queues", views.QueueViewSet, basename="queue")
router.register("workstreams", views.WorkstreamViewSet, basename="workstream")
router.register("agents", views.AgentViewSet, basename="agent")

urlpatterns = [
    path("work-items/open/", views.OpenItemListApi.as_view(), name="work-item-open-list"),
    path("work-items/<int:work_item_id>/pick/", views.WorkItemPickApi.as_view(), name="work-item-pick"),
    *router.urls,
]
