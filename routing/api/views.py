"""Queues, workstreams, agents and pick mode in the developer API (API-1).

Supervisors and admins see every queue, workstream and agent; an agent sees their own queues,
the workstreams that route into them and the agents who share a queue with them (SEC-1).
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents.api.serializers import AgentSerializer
from agents.permissions import IsAgent, IsAgentOrAdmin
from agents.selectors import agent_for_user
from routing import selectors
from routing.api import filters
from routing.api.serializers import (
    OpenItemSerializer,
    QueueSerializer,
    WorkItemPickedSerializer,
    WorkstreamSerializer,
)
from routing.contributions import workstream_api_related
from routing.services import work_item_pick


class QueueViewSet(viewsets.ReadOnlyModelViewSet):
    """Queues with their settings and operating hours."""

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]
    serializer_class = QueueSerializer
    filterset_class = filters.QueueFilter
    search_fields = ["name"]
    ordering_fields = ["priority", "name", "created_at"]

    def get_queryset(self):
        return selectors.queues_visible_to(self.request.user)


class WorkstreamViewSet(viewsets.ReadOnlyModelViewSet):
    """Workstreams with their routing and work-distribution settings and routing rules."""

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]
    serializer_class = WorkstreamSerializer
    filterset_class = filters.WorkstreamFilter
    search_fields = ["name"]
    ordering_fields = ["name", "created_at"]

    def get_queryset(self):
        return selectors.workstreams_visible_to(self.request.user).select_related(*workstream_api_related())


class AgentViewSet(viewsets.ReadOnlyModelViewSet):
    """Agents with their presence, capacity and open sessions."""

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]
    serializer_class = AgentSerializer
    filterset_class = filters.AgentFilter
    search_fields = ["display_name"]
    ordering_fields = ["display_name", "presence_changed_at", "capacity_used", "session_count"]

    def get_queryset(self):
        return selectors.agents_visible_to(self.request.user)


class OpenItemListApi(generics.ListAPIView):
    """The open items of the calling agent's pick-mode queues, the next to serve first."""

    # spec: ROU-13

    permission_classes = [IsAuthenticated, IsAgent]
    serializer_class = OpenItemSerializer
    filter_backends = []  # the order is the queues' (priority, then oldest first)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return []
        return selectors.open_items_for(agent_for_user(self.request.user))


class WorkItemPickApi(APIView):
    """Take an open item of one of your queues. Exactly one of several agents picking the
    same item at once gets it; the others get 409 ``already_taken``."""

    # spec: ROU-13

    permission_classes = [IsAuthenticated, IsAgent]

    @extend_schema(
        request=None,
        responses={
            200: WorkItemPickedSerializer,
            404: OpenApiResponse(description="No such work item in your queues."),
            409: OpenApiResponse(
                description="Already taken, not a pick-mode item, or no room: presence, sessions or capacity."
            ),
        },
        operation_id="work_items_pick",
    )
    def post(self, request, work_item_id: int):
        work_item = work_item_pick(work_item_id=work_item_id, agent=agent_for_user(request.user))
        return Response(WorkItemPickedSerializer(work_item).data)
