"""Checking credentials outside a login form (the API's token endpoint).

Passwords go through django.contrib.auth.authenticate with the request, so that django-axes
counts failures and refuses locked accounts and addresses exactly as on the login pages.
"""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext as _

from khutwa.accounts.lockout import lockout_message, request_lockout_wait
from khutwa.accounts.models import User
from khutwa.accounts.security import confirmed_device, second_factor_required
from khutwa.accounts.services import otp_check
from khutwa.errors import Refused


def credentials_check(request: HttpRequest, *, username: str, password: str, otp: str | None) -> User:
    """The user these credentials prove, or Refused: 401 wrong password (field `password`) or
    code (`otp`), 403 a staff account without a TOTP device yet, 429 locked out (with the
    minutes to wait) or too many wrong codes."""
    user = authenticate(request, username=username, password=password)
    if user is None:
        wait = request_lockout_wait(request, username)
        if wait is not None:
            raise Refused(lockout_message(wait), field="password", status=429)
        raise Refused(_("The username or password is wrong."), field="password", status=401)
    if second_factor_required(user):
        if confirmed_device(user) is None:
            raise Refused(
                _("Set up your authenticator app first: log in on the portal."), field="otp", status=403
            )
        if not otp:
            raise Refused(_("Enter the code from your authenticator app."), field="otp", status=401)
        if otp_check(user=user, code=otp) is None:
            raise Refused(_("The code is wrong or has expired."), field="otp", status=401)
    # A whole success clears the account's failures, as a login on the pages does.
    AxesProxyHandler.reset_attempts(username=user.get_username())
    return user
