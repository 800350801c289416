"""Presences and an agent's own presence in the developer API (API-1, ROU-5).

An agent sets their own presence here through ``agent_presence_set``.
"""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from agents import selectors
from agents.api import filters
from agents.api.serializers import AgentPresenceInputSerializer, AgentPresenceSerializer, PresenceSerializer
from agents.permissions import IsAgent, IsAgentOrAdmin
from agents.services import agent_presence_set


class PresenceViewSet(viewsets.ReadOnlyModelViewSet):
    """The presences: the six base ones and the custom ones mapped to a base."""

    # spec: ROU-5

    permission_classes = [IsAuthenticated, IsAgentOrAdmin]
    serializer_class = PresenceSerializer
    filterset_class = filters.PresenceFilter
    search_fields = ["name"]
    ordering_fields = ["order", "name"]

    def get_queryset(self):
        return selectors.presence_list()


class AgentPresenceApi(APIView):
    """The calling agent's own presence: read it, or set it."""

    # spec: ROU-5

    permission_classes = [IsAuthenticated, IsAgent]

    @extend_schema(responses={200: AgentPresenceSerializer}, operation_id="agents_me_presence_retrieve")
    def get(self, request):
        agent = selectors.agent_for_user(request.user)
        return Response(AgentPresenceSerializer(agent).data)

    @extend_schema(
        request=AgentPresenceInputSerializer,
        responses={
            200: AgentPresenceSerializer,
            400: OpenApiResponse(description="Unknown presence or malformed input."),
            409: OpenApiResponse(description="A presence agents may not choose (Inactive is set by the system)."),
        },
        operation_id="agents_me_presence_update",
    )
    def put(self, request):
        params = AgentPresenceInputSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        agent = agent_presence_set(
            agent_id=selectors.agent_for_user(request.user).pk,
            presence=params.validated_data["presence"],
            by=request.user,
        )
        return Response(AgentPresenceSerializer(agent).data)
