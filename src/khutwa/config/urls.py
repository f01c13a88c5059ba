from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path, re_path

from khutwa.accounts import oidc
from khutwa.api.api import api
from khutwa.ops import health, metrics
from khutwa.portal import views_documents, views_trust

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path(".well-known/khutwa-keys.json", views_documents.jwks, name="jwks"),
    path(".well-known/khutwa-ca.crl", views_trust.crl, name="crl"),
    re_path(r"^\.well-known/khutwa-ca-(?P<ca>[0-9a-f]{16})\.crl$", views_trust.crl, name="crl-of"),
    path("tsa", views_trust.tsa, name="tsa"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # The national identity's code flow (accounts/oidc.py); the names are mozilla-django-oidc's.
    path("oidc/authenticate/", oidc.AuthenticateView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
]

urlpatterns += i18n_patterns(
    path("", include("khutwa.portal.urls")),
    path("admin/", admin.site.urls),
    prefix_default_language=True,
)
