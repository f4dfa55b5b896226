"""The inbox page and its JSON actions. A few lines each: the handoff comes through
`inbox.access` (another workspace's answers 404), the change through `inbox.services`."""

from __future__ import annotations

import json
from functools import wraps

from django.contrib.auth import get_user_model
from django.contrib.auth.views import LoginView, redirect_to_login
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from bots.access import INBOX, workspaces_for
from inbox import frames, selectors, services
from inbox.access import access_handoff, access_inbox_workspace
from inbox.frames import message_item


def _error(status: int, code: str, detail: str, **extra) -> JsonResponse:
    return JsonResponse({"code": code, "detail": detail, **extra}, status=status)


def _body(request) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise services.InboxError("bad_request", "Send a JSON object.", status=400)
    return data


def inbox_action(fn):
    """Logged-in people only; refusals become JSON with a code and a sentence."""

    @wraps(fn)
    def view(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return _error(401, "login", "Log in to use the inbox.")
        try:
            return fn(request, *args, **kwargs)
        except Http404:
            return _error(404, "not_found", "No such chat.")
        except services.InboxError as exc:
            return JsonResponse(exc.as_dict(), status=exc.status)

    return view


class InboxLogin(LoginView):
    template_name = "inbox/login.html"
    redirect_authenticated_user = True


@require_GET
@ensure_csrf_cookie
def page(request):
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), "inbox:login")
    if not workspaces_for(request.user, INBOX).exists():
        return render(request, "inbox/not_an_agent.html", status=403)
    return render(request, "inbox/index.html")


@require_GET
@inbox_action
def handoff_detail(request, handoff_id):
    return JsonResponse(selectors.context_packet(access_handoff(request.user, handoff_id)))


@require_POST
@inbox_action
def claim(request, handoff_id):
    handoff = services.claim(handoff=access_handoff(request.user, handoff_id), agent=request.user)
    return JsonResponse({"handoff": frames.handoff(handoff)})


@require_POST
@inbox_action
def reply(request, handoff_id):
    text = _body(request).get("text", "")
    message = services.reply(handoff=access_handoff(request.user, handoff_id), agent=request.user, text=text)
    return JsonResponse({"message": message_item(message)})


@require_POST
@inbox_action
def note(request, handoff_id):
    text = _body(request).get("text", "")
    message = services.note(handoff=access_handoff(request.user, handoff_id), agent=request.user, text=text)
    return JsonResponse({"message": message_item(message)})


@require_POST
@inbox_action
def transfer(request, handoff_id):
    data = _body(request)
    handoff = access_handoff(request.user, handoff_id)
    to_agent = None
    if data.get("agent_id"):
        to_agent = get_user_model().objects.filter(pk=data["agent_id"], is_active=True).first()
        if to_agent is None:
            raise services.InboxError("unknown_agent", "That person is not an agent of this workspace.", status=400)
    handoff = services.transfer(
        handoff=handoff, agent=request.user, queue=str(data.get("queue") or ""), to_agent=to_agent
    )
    return JsonResponse({"handoff": frames.handoff(handoff)})


@require_POST
@inbox_action
def resolve(request, handoff_id):
    handoff = services.resolve(handoff=access_handoff(request.user, handoff_id), agent=request.user)
    return JsonResponse({"handoff": frames.handoff(handoff)})


@require_POST
@inbox_action
def return_to_bot(request, handoff_id):
    handoff = services.return_to_bot(handoff=access_handoff(request.user, handoff_id), agent=request.user)
    return JsonResponse({"handoff": frames.handoff(handoff)})


@require_POST
@inbox_action
def presence(request):
    data = _body(request)
    workspace = access_inbox_workspace(request.user, data.get("workspace_id"))
    status = services.set_presence(agent=request.user, workspace_id=workspace.pk, presence=str(data.get("presence")))
    return JsonResponse({"presence": status.presence})
