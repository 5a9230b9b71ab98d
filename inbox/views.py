"""The agents' inbox: one template per page; partials when htmx asks (request.htmx).

Every view resolves the conversation through conversations_visible_to(), so an agent of another
team gets a 404 for a conversation they may not see. Writes call services and answer htmx with
204 (the change arrives over the inbox WebSocket) or, without JavaScript, redirect back (PRG).
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from agents.models import Agent, Team
from agents.selectors import agent_for_user, user_is_manager
from agents.services import AgentError
from chat.ids import parse_id
from chat.models import Conversation
from handoff.presence import agent_set_status
from handoff.selectors import handoff_open, handoff_to_label
from handoff.services import (
    HandoffError,
    handoff_assign,
    handoff_hand_back,
    handoff_resolve,
    handoff_transfer,
    handoff_verdict_set,
)
from inbox.canned import canned_fill, canned_for, query_clean
from inbox.context import conversation_context, sidebar_context
from inbox.drafting import reply_draft
from inbox.lists import VIEWS, filters_parse, inbox_list, inbox_scope, inbox_teams
from inbox.selectors import conversations_visible_to
from inbox.services import agent_reply, conversation_mark_read, note_add
from inbox.suggestions import conversation_needs, passages_for_needs
from inbox.triage import (
    MAX_BULK,
    conversation_snooze,
    conversation_tags_change,
    conversation_take_over,
    conversation_unsnooze,
    conversations_bulk,
    snooze_until,
)


def inbox_user_required(view):
    """Signed in, and either an agent or a manager: customers' conversations are not for everyone."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.agent = agent_for_user(request.user)
        if request.agent is None and not user_is_manager(request.user):
            raise PermissionDenied("Only agents and managers can use the inbox.")
        return view(request, *args, **kwargs)

    return wrapper


@require_GET
@inbox_user_required
def inbox(request):
    """The inbox's lists: a view (Mine, Unassigned, ...), filters and search, a page at a time.
    htmx asks for the list alone (the filter form, the view links, the live refresh)."""
    filters = filters_parse(request.GET, default_view="mine" if request.agent else "teams")
    context = {
        "listing": inbox_list(user=request.user, agent=request.agent, filters=filters),
        "filter_teams": inbox_teams(user=request.user, agent=request.agent),
        "statuses_conversation": Conversation.Status.choices,
        "channels": Conversation.Channel.choices,
        "view_labels": {view.slug: view.label for view in VIEWS},
    }
    if _partial(request):
        return render(request, "inbox/partials/conversation_list.html", context)
    context.update(sidebar_context(user=request.user, agent=request.agent))
    return render(request, "inbox/inbox.html", context)


def _partial(request) -> bool:
    """htmx swapping part of the page; a history restore (back button, cache miss) needs the whole page."""
    return bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request


def _visible_conversation(request, conversation_id: int):
    return get_object_or_404(conversations_visible_to(user=request.user).select_related("customer"), pk=conversation_id)


@require_GET
@inbox_user_required
def conversation_detail(request, conversation_id: int):
    conversation = _visible_conversation(request, conversation_id)
    if request.agent is not None:
        conversation_mark_read(agent=request.agent, conversation=conversation)
    template = "inbox/partials/conversation_main.html" if _partial(request) else "inbox/conversation.html"
    return render(
        request, template, conversation_context(user=request.user, agent=request.agent, conversation=conversation)
    )


def _done(request, conversation_id: int | None = None, error: str | None = None):
    """htmx: 204, or the error shown in the flash area. Plain forms: back to the page."""
    if request.htmx:
        if error:
            response = render(request, "inbox/partials/flash.html", {"error": error}, status=422)
            response["HX-Retarget"] = "#flash"
            response["HX-Reswap"] = "innerHTML"
            return response
        return HttpResponse(status=204)
    if conversation_id is not None:
        return redirect("inbox-conversation", conversation_id=conversation_id)
    return redirect("inbox")


def _act(request, conversation_id: int, action):
    conversation = _visible_conversation(request, conversation_id)
    try:
        action(conversation)
    except (HandoffError, AgentError) as error:
        return _done(request, conversation_id, error=str(error))
    return _done(request, conversation_id)


def _require_agent(request) -> Agent:
    if request.agent is None:
        raise AgentError("Only agents can do this (managers without an agent profile can watch).")
    return request.agent


@require_POST
@inbox_user_required
def conversation_accept(request, conversation_id: int):
    def accept(conversation):
        handoff = handoff_open(conversation=conversation)
        if handoff is None:
            raise HandoffError(f"Conversation {conversation.pk} is not waiting for a person.")
        handoff_assign(handoff=handoff, agent=_require_agent(request), actor=request.user, reason="Picked up")

    # The header and lists update over the inbox socket, like every other state change.
    return _act(request, conversation_id, accept)


@require_POST
@inbox_user_required
def conversation_reply(request, conversation_id: int):
    return _act(
        request,
        conversation_id,
        lambda c: agent_reply(
            agent_user=request.user,
            conversation=c,
            text=request.POST.get("text", ""),
            client_id=request.POST.get("client_id", ""),
        ),
    )


@require_POST
@inbox_user_required
def conversation_note(request, conversation_id: int):
    return _act(
        request,
        conversation_id,
        lambda c: note_add(author=request.user, conversation=c, text=request.POST.get("text", "")),
    )


@require_POST
@inbox_user_required
def conversation_transfer(request, conversation_id: int):
    def transfer(conversation):
        handoff = handoff_open(conversation=conversation)
        if handoff is None:
            raise HandoffError(f"Conversation {conversation.pk} has no open handoff to transfer.")
        target = request.POST.get("target", "")
        kind, _, pk = target.partition(":")
        pk = parse_id(pk)
        to_agent = Agent.objects.filter(pk=pk).first() if kind == "agent" and pk else None
        to_team = Team.objects.filter(pk=pk).first() if kind == "team" and pk else None
        if to_agent is None and to_team is None:
            raise HandoffError("Choose an agent or a team to transfer to.")
        handoff_transfer(
            handoff=handoff, to_agent=to_agent, to_team=to_team, note=request.POST.get("note", ""), actor=request.user
        )

    return _act(request, conversation_id, transfer)


@require_POST
@inbox_user_required
def conversation_resolve(request, conversation_id: int):
    return _act(request, conversation_id, lambda c: handoff_resolve(conversation=c, actor=request.user))


@require_POST
@inbox_user_required
def conversation_verdict(request, conversation_id: int):
    """The one-click label after resolving: was the handoff needed? (changeable; reports read it)"""
    conversation = _visible_conversation(request, conversation_id)
    handoff = handoff_to_label(conversation=conversation)
    try:
        if handoff is None:
            raise HandoffError(f"Conversation {conversation.pk} has no finished handoff to label.")
        handoff_verdict_set(handoff=handoff, verdict=request.POST.get("verdict", ""), user=request.user)
    except HandoffError as error:
        return _done(request, conversation_id, error=str(error))
    if request.htmx:
        return render(request, "inbox/partials/verdict_refresh.html", {"conversation": conversation})
    return redirect("inbox-conversation", conversation_id=conversation_id)


@require_POST
@inbox_user_required
def conversation_hand_back(request, conversation_id: int):
    return _act(request, conversation_id, lambda c: handoff_hand_back(conversation=c, actor=request.user))


@require_POST
@inbox_user_required
def conversation_take_over_view(request, conversation_id: int):
    return _act(
        request,
        conversation_id,
        lambda c: conversation_take_over(conversation=c, agent=_require_agent(request), actor=request.user),
    )


@require_POST
@inbox_user_required
def conversation_snooze_view(request, conversation_id: int):
    if request.POST.get("for") == "wake":
        return _act(request, conversation_id, lambda c: conversation_unsnooze(conversation=c))
    return _act(
        request,
        conversation_id,
        lambda c: conversation_snooze(conversation=c, until=snooze_until(request.POST.get("for", ""))),
    )


@require_POST
@inbox_user_required
def conversation_tags(request, conversation_id: int):
    add = [request.POST["add"]] if request.POST.get("add", "").strip() else []
    remove = request.POST.getlist("remove")
    return _act(request, conversation_id, lambda c: conversation_tags_change(conversation=c, add=add, remove=remove))


@require_POST
@inbox_user_required
def conversations_bulk_view(request):
    """The list's bulk actions: each conversation resolved through the same scope as the list."""
    ids = [pk for pk in map(parse_id, request.POST.getlist("ids")) if pk][:MAX_BULK]
    conversations = list(inbox_scope(user=request.user, agent=request.agent).filter(pk__in=ids).order_by("pk"))
    action = request.POST.get("action", "")
    if not conversations:
        return _done(request, error="Tick the conversations to act on first.")
    try:
        result = conversations_bulk(
            conversations=conversations,
            action=action,
            agent=request.agent,
            actor=request.user,
            tag=request.POST.get("tag", ""),
        )
    except AgentError as error:
        return _done(request, error=str(error))
    if request.htmx:
        response = render(request, "inbox/partials/flash.html", {"info": result.summary(action)})
        response["HX-Retarget"], response["HX-Reswap"] = "#flash", "innerHTML"
        response["HX-Trigger"] = "inbox-changed"
        return response
    return redirect("inbox")


@require_POST
@inbox_user_required
def status_update(request):
    try:
        agent_set_status(agent=_require_agent(request), status=request.POST.get("status", ""))
    except AgentError as error:
        return _done(request, error=str(error))
    if request.htmx:
        request.agent.refresh_from_db()
        return render(request, "inbox/partials/sidebar.html", sidebar_context(user=request.user, agent=request.agent))
    return redirect(_safe_next(request))


def _safe_next(request) -> str:
    """Back where the form was (a path on this site); anything else, e.g. https://evil.example
    (an open redirect) or a bare word (a NoReverseMatch for redirect()), goes to the inbox."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("inbox")


@require_GET
@inbox_user_required
def canned_search(request):
    """Canned responses matching `q`, with the variables filled in for `conversation` when given."""
    conversation = None
    conversation_id = request.GET.get("conversation", "")
    if conversation_id:
        conversation = _visible_conversation(request, parse_id(conversation_id) or 0)
    query = query_clean(request.GET.get("q", ""))
    responses = [
        (response, canned_fill(text=response.text, conversation=conversation, agent=request.agent))
        for response in canned_for(agent=request.agent, query=query)[:20]
    ]
    return render(request, "inbox/partials/canned_list.html", {"responses": responses, "query": query})


@require_GET
@inbox_user_required
def conversation_suggestions(request, conversation_id: int):
    """Knowledge-base passages for what the visitor still needs, to quote or adapt in a reply."""
    conversation = _visible_conversation(request, conversation_id)
    needs = conversation_needs(conversation=conversation)
    passages = passages_for_needs(needs=needs)
    return render(request, "inbox/partials/suggestions.html", {"passages": passages, "needs": needs})


@require_POST
@inbox_user_required
def conversation_draft(request, conversation_id: int):
    """A reply drafted from the knowledge base, put in the reply box for the agent to edit (never sent)."""
    conversation = _visible_conversation(request, conversation_id)
    try:
        draft = reply_draft(conversation=conversation, agent=request.agent)
    except AgentError as error:
        return render(request, "inbox/partials/draft.html", {"error": str(error)})
    return render(request, "inbox/partials/draft.html", {"draft": draft})


@require_GET
@inbox_user_required
def handoff_history(request):
    """The old "all handoffs" list is the Resolved view now (bookmarks keep working)."""
    return redirect(f"{reverse('inbox')}?view=resolved", permanent=True)
