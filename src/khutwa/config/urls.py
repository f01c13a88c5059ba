from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from khutwa.api.api import api
from khutwa.portal import views as portal_views
from khutwa.portal import views_documents

urlpatterns = [
    path("healthz", portal_views.healthz, name="healthz"),
    path(".well-known/khutwa-keys.json", views_documents.jwks, name="jwks"),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

urlpatterns += i18n_patterns(
    path("", include("khutwa.portal.urls")),
    path("admin/", admin.site.urls),
    prefix_default_language=True,
)
