import os

from casework.config.handlers import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "casework.config.settings.demo")
application = get_wsgi_application()
