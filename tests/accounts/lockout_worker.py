"""Run in a separate process, like another worker or node: `setup` makes a user; `fail N`
tries N wrong passwords; `login` tries the right one and prints the status. Used by
test_lockout.py to show that the failure count lives in the shared database."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "khutwa.config.settings")
django.setup()

from django.test import Client  # noqa: E402

from khutwa.accounts.models import User  # noqa: E402

PASSWORD = "correct-horse-battery"


def attempt(password: str) -> int:
    response = Client().post("/en/login/", {"username": "worker-user", "password": password})
    return response.status_code


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "setup":
        User.objects.create_user(username="worker-user", password=PASSWORD)
    elif command == "fail":
        print(" ".join(str(attempt("wrong-password")) for _ in range(int(sys.argv[2]))))
    else:
        print(attempt(PASSWORD))
