"""What people hear about, by e-mail and SMS, in their language (see docs/notifications.md).

Every event goes through ``services.notify_user`` (portal users: an in-portal notice always, then
e-mail and SMS as their preferences say) or ``services.notify_contact`` (customers and walk-in
applicants without an account). Messages are rendered from the templates under
``templates/notifications/<event>.{subject,txt,sms}.txt`` and sent by the retried background tasks
of ``jobs.mail`` and ``sms.tasks``, enqueued when the transaction commits.
"""
