from django.urls import path, register_converter

from khutwa.inputs import IdConverter
from khutwa.portal import (
    views,
    views_accounts,
    views_applicant,
    views_auth,
    views_documents,
    views_notifications,
    views_public,
    views_staff,
    views_statistics,
    views_support,
)

app_name = "portal"

# Ids in addresses: ASCII digits within the primary key's range, else no page (404).
register_converter(IdConverter, "id")

urlpatterns = [
    # First: Django tries the patterns in order, and the public verification page (every QR code
    # scanned) came after about thirty others. No pattern before it could match its paths.
    path("verify/<str:public_id>", views_documents.verify_page, name="verify"),
    path("verify/", views_documents.verify_upload, name="verify_upload"),
    path("", views.home, name="home"),
    path("login/", views_auth.LoginView.as_view(), name="login"),
    path("login/code/", views_auth.otp_verify, name="otp_verify"),
    path("login/authenticator/", views_auth.otp_setup, name="otp_setup"),
    path("logout/", views_auth.LogoutView.as_view(), name="logout"),
    path("signup/", views_accounts.signup, name="signup"),
    path("account/", views_accounts.account, name="account"),
    path("account/confirm/", views_accounts.account_confirm, name="account_confirm"),
    path("account/confirm/email/<str:token>/", views_accounts.email_confirm, name="email_confirm"),
    path("password/", views_auth.PasswordChangeView.as_view(), name="password_change"),
    path("password/reset/", views_auth.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", views_auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password/reset/done/", views_auth.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        views_auth.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    # Information centre (public)
    path("activities/", views.activity_list, name="activities"),
    path("activities/<slug:code>/", views_public.activity_detail, name="activity"),
    path("how-to-apply/", views_public.how_to_apply, name="how_to_apply"),
    path("track/", views_public.track, name="track"),
    path("licences/<str:number>", views_public.licence_check, name="licence_check"),
    path("privacy/", views_public.privacy, name="privacy"),
    path("accessibility/", views_public.accessibility, name="accessibility"),
    path("statistics/", views_statistics.statistics, name="statistics"),
    # Applicants and holders
    path("my/", views_applicant.my_applications, name="my"),
    path("notices/", views_applicant.notices, name="notices"),
    path("account/notifications/", views_notifications.notification_preferences, name="notifications"),
    path("applications/new/", views_applicant.application_new, name="application_new"),
    path("applications/<id:pk>/", views_applicant.application_detail, name="application"),
    path("applications/<id:pk>/edit/", views_applicant.application_edit, name="application_edit"),
    path("applications/<id:pk>/attachments/", views_applicant.attachment_upload, name="attachment_upload"),
    path("applications/<id:pk>/answers/<id:request_id>/", views_applicant.answer_info, name="answer"),
    path(
        "applications/<id:pk>/<slug:action>/", views_applicant.application_action, name="application_action"
    ),
    path("attachments/<uuid:public_id>/", views_applicant.attachment_download, name="attachment"),
    path("licence/<str:number>/", views_applicant.licence_detail, name="licence"),
    path("licence/<str:number>/certificate.pdf", views_applicant.licence_certificate, name="certificate"),
    path("licence/<str:number>/amend/", views_applicant.licence_amend, name="licence_amend"),
    path("licence/<str:number>/<slug:action>/", views_applicant.licence_action, name="licence_action"),
    # Official documents
    path("documents/", views_documents.document_list, name="documents"),
    path("documents/new/", views_documents.document_new, name="document_new"),
    path("documents/new/line/", views_documents.document_line_row, name="document_line"),
    path("documents/new/totals/", views_documents.document_totals, name="document_totals"),
    path("documents/statement/", views_documents.statement_new, name="statement_new"),
    path("documents/<uuid:public_id>/", views_documents.document_detail, name="document"),
    path("documents/<uuid:public_id>/pdf", views_documents.document_pdf_download, name="document_pdf"),
    path("documents/<uuid:public_id>/xml", views_documents.document_xml_download, name="document_xml"),
    path(
        "documents/<uuid:public_id>/<slug:action>/", views_documents.document_action, name="document_action"
    ),
    path("customers/", views_documents.customer_list, name="customers"),
    path("customers/new/", views_documents.customer_new, name="customer_new"),
    path("customers/<id:pk>/", views_documents.customer_edit, name="customer_edit"),
    # Tamkeen support
    path("programmes/", views_support.programme_list, name="programmes"),
    path("support/", views_support.support_home, name="support"),
    path("support/apply/", views_support.support_apply, name="support_apply"),
    path("support/iban/", views_support.support_iban, name="support_iban"),
    path("support/enterprise/", views_support.support_enterprise, name="support_enterprise"),
    path(
        "support/enterprises/<id:pk>/<slug:decision>/",
        views_support.support_enterprise_decide,
        name="support_enterprise_decide",
    ),
    path("support/applications/<id:pk>/", views_support.support_application, name="support_application"),
    path(
        "support/applications/<id:pk>/<slug:action>/",
        views_support.support_application_action,
        name="support_application_action",
    ),
    path("support/claims/<id:pk>/", views_support.support_claim, name="support_claim"),
    path("support/claims/<id:pk>/decide/", views_support.support_claim_decide, name="support_claim_decide"),
    path("support/queue/", views_support.support_queue, name="support_queue"),
    path("support/finance/", views_support.support_finance, name="support_finance"),
    path("support/batches/<id:pk>/", views_support.support_batch, name="support_batch"),
    path(
        "support/batches/<id:pk>/<slug:kind>",
        views_support.support_batch_export,
        name="support_batch_export",
    ),
    path("support/reports/", views_support.support_reports, name="support_reports"),
    path("support/statistics/", views_statistics.statistics_tamkeen, name="statistics_tamkeen"),
    # Registrar
    path("registrar/", views_staff.pipeline, name="pipeline"),
    path("registrar/screening/", views_staff.screening, name="screening"),
    path("registrar/overdue/", views_staff.overdue, name="overdue"),
    path("registrar/licences/", views_staff.licences, name="licences"),
    path("registrar/statistics/", views_statistics.statistics_registrar, name="statistics_registrar"),
    # Reviewers
    path("reviews/", views_staff.review_queue, name="reviews"),
    path("reviews/<id:pk>/", views_staff.review_detail, name="review"),
    path("reviews/<id:pk>/<slug:action>/", views_staff.review_action, name="review_action"),
]
