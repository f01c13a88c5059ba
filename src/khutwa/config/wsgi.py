import os

from django.core.wsgi import get_wsgi_application

from khutwa.config.files import restrict_umask

restrict_umask()  # before anything writes a file (config/files.py)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "khutwa.config.settings")
application = get_wsgi_application()
