"""The WSGI application, for any WSGI server (``gunicorn django_portal.wsgi``)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_portal.settings")
application = get_wsgi_application()
