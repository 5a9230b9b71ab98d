"""Who may call what. A token acts as its user (roles come from the inbox's own rules) and its
scopes narrow it; a session (the inbox's own use of the API) has its user's role and every scope."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from agents.selectors import agent_for_user, user_is_manager
from api.models import ApiToken


def request_scope(request, view) -> str:
    return getattr(view, "required_scope", None) or (
        ApiToken.Scope.READ if request.method in SAFE_METHODS else ApiToken.Scope.WRITE
    )


class TokenHasScope(BasePermission):
    message = "This token lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, ApiToken):
            return True
        scope = request_scope(request, view)
        self.message = f"This token lacks the “{scope}” scope."
        return scope in request.auth.scopes


class IsInboxUser(BasePermission):
    """Agents and managers: the people who may open the inbox."""

    message = "Only agents and managers can use the API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user_is_manager(user) or agent_for_user(user)))


class IsManager(BasePermission):
    """The knowledge base, trigger rules, reports and customer writes are managers' (as in admin)."""

    message = "Only managers can do this."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated and user_is_manager(request.user))


class IsManagerOrReadOnly(IsManager):
    def has_permission(self, request, view) -> bool:
        return request.method in SAFE_METHODS or super().has_permission(request, view)
