"""Files in conversations over HTTP (issue 16): the agent's upload from the workspace and the one
download view every reader's signed link opens.

A download is never active content on our origin: the real content type, ``nosniff``, a
sandboxing CSP that allows nothing, and ``Content-Disposition: attachment`` for anything that is
not an image.
"""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from agents.avatars import avatar_content_type
from conversations import workspace
from conversations.attachment_services import message_attach
from conversations.attachments import agent_for_avatar_link, attachment_for_link
from conversations.models import Message
from conversations.views import agent_required
from core.errors import DomainError, NotFound

#: What a download may do in a browser: nothing. ``sandbox`` also gives it an opaque origin.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def protected_file_response(handle, *, name: str, content_type: str, inline: bool) -> FileResponse:
    """A stored file as a download that is never active content on our origin."""
    response = FileResponse(handle, as_attachment=not inline, filename=name, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # the widget shows images on the customer's site
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_GET
def attachment_download(request: HttpRequest, token: str) -> HttpResponse:
    """The file a signed, unexpired link names; 404 for any other link."""
    try:
        attachment = attachment_for_link(token)
        handle = attachment.file.open("rb")
    except (NotFound, FileNotFoundError):
        raise Http404(_("No such file.")) from None
    return protected_file_response(
        handle, name=attachment.name, content_type=attachment.content_type, inline=attachment.is_image
    )


@require_GET
def agent_avatar(request: HttpRequest, token: str) -> HttpResponse:
    """The agent's current avatar a signed, unexpired link names (issue 16); 404 for any other."""
    try:
        agent = agent_for_avatar_link(token)
        content_type = avatar_content_type(agent.avatar.name)
        if content_type is None:
            raise NotFound(_("No such file."))
        handle = agent.avatar.open("rb")
    except (NotFound, FileNotFoundError):
        raise Http404(_("No such file.")) from None
    return protected_file_response(handle, name="avatar", content_type=content_type, inline=True)


@require_POST
@agent_required
def attachment_upload(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """``POST`` (multipart: ``file``, optional ``client_id``) — the agent sends a file in a
    conversation they hold. Answers ``{"seq", "client_id"}``; the message arrives on the socket."""
    try:
        conversation = workspace.access_workspace_conversation(request.user, request.agent, conversation_id)
    except NotFound:
        raise Http404(_("No such conversation.")) from None
    upload = request.FILES.get("file")
    client_id = request.POST.get("client_id") or None
    if upload is None or len(request.FILES) != 1:
        return JsonResponse({"code": "invalid", "message": _("Choose one file to send.")}, status=400)
    try:
        message, created = message_attach(
            conversation_id=conversation.pk,
            sender=Message.Sender.AGENT,
            upload=upload,
            sender_user=request.user,
            client_id=client_id,
            agent=request.agent,
        )
    except DomainError as refused:
        return JsonResponse({"code": refused.code, "message": refused.message}, status=400)
    return JsonResponse({"seq": message.seq, "client_id": message.client_id}, status=201 if created else 200)
