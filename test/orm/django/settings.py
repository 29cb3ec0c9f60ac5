# Minimal Django settings: one app, PostgreSQL from the environment; the
# role comes from DJANGO_DB_USER (the owner migrates, the app role runs app.py).
import os

SECRET_KEY = "rowkeeper-orm-test"
INSTALLED_APPS = ["shop"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "HOST": os.environ["PGHOST"],
        "PORT": os.environ["PGPORT"],
        "NAME": os.environ["PGDATABASE"],
        "USER": os.environ["DJANGO_DB_USER"],
    }
}
