from django.contrib.auth import views as auth_views
from django.urls import path

from khutwa.portal import views, views_applicant, views_public, views_staff

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Information centre (public)
    path("activities/", views.activity_list, name="activities"),
    path("activities/<slug:code>/", views_public.activity_detail, name="activity"),
    path("how-to-apply/", views_public.how_to_apply, name="how_to_apply"),
    path("track/", views_public.track, name="track"),
    path("licences/<str:number>", views_public.licence_check, name="licence_check"),
    # Applicants and holders
    path("my/", views_applicant.my_applications, name="my"),
    path("notices/", views_applicant.notices, name="notices"),
    path("applications/new/", views_applicant.application_new, name="application_new"),
    path("applications/<int:pk>/", views_applicant.application_detail, name="application"),
    path("applications/<int:pk>/edit/", views_applicant.application_edit, name="application_edit"),
    path("applications/<int:pk>/attachments/", views_applicant.attachment_upload, name="attachment_upload"),
    path("applications/<int:pk>/answers/<int:request_id>/", views_applicant.answer_info, name="answer"),
    path(
        "applications/<int:pk>/<slug:action>/", views_applicant.application_action, name="application_action"
    ),
    path("attachments/<uuid:public_id>/", views_applicant.attachment_download, name="attachment"),
    path("licence/<str:number>/", views_applicant.licence_detail, name="licence"),
    path("licence/<str:number>/certificate.pdf", views_applicant.licence_certificate, name="certificate"),
    path("licence/<str:number>/amend/", views_applicant.licence_amend, name="licence_amend"),
    path("licence/<str:number>/<slug:action>/", views_applicant.licence_action, name="licence_action"),
    # Registrar
    path("registrar/", views_staff.pipeline, name="pipeline"),
    path("registrar/screening/", views_staff.screening, name="screening"),
    path("registrar/overdue/", views_staff.overdue, name="overdue"),
    path("registrar/licences/", views_staff.licences, name="licences"),
    # Reviewers
    path("reviews/", views_staff.review_queue, name="reviews"),
    path("reviews/<int:pk>/", views_staff.review_detail, name="review"),
    path("reviews/<int:pk>/<slug:action>/", views_staff.review_action, name="review_action"),
]
