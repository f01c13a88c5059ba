from typing import Any

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    roles = user.role_names() if user is not None and user.is_authenticated else set()
    unread = 0
    if user is not None and user.is_authenticated:
        unread = user.notices.filter(read_at__isnull=True).count()
    return {"KHUTWA_SITE_URL": settings.KHUTWA_SITE_URL, "user_roles": roles, "unread_notices": unread}
