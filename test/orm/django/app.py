"""The application's flow through the Django ORM as the application role:
every transaction sets its tenant first.  Prints one JSON line."""
import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
import django  # noqa: E402

django.setup()
from django.db import connection, transaction  # noqa: E402
from shop.models import Customer, Note, Order  # noqa: E402


def tenant(t):
    with connection.cursor() as c:
        c.execute("SELECT rowkeeper.set_context(actor => 'django-app', tenant => %s)", [t])


out = {}
for t in (1, 2):
    with transaction.atomic():
        tenant(str(t))
        c = Customer.objects.create(tenant_id=t, full_name=f"customer of {t}")
        o = Order.objects.create(tenant_id=t, customer=c, total=10 * t)
        Note.objects.create(tenant_id=t, order=o, body=f"note of {t}")
with transaction.atomic():
    tenant("1")
    out["tenant1"] = sorted(Customer.objects.values_list("full_name", flat=True))
    c = Customer.objects.get()
    stamp = c.updated_at
    c.save()                       # auto_now: a no-op save with a new stamp
    out["noop_kept_stamp"] = Customer.objects.get().updated_at == stamp
    c.full_name = "renamed"
    c.save()                       # a real change
    out["change_stamped"] = Customer.objects.get().updated_at != stamp
    o = Order.objects.get()
    out["notes"] = Note.objects.count()
try:
    with transaction.atomic():
        Customer.objects.count()
    out["no_tenant"] = "read"
except Exception as e:  # noqa: BLE001
    out["no_tenant"] = str(e).splitlines()[0]
print(json.dumps(out))
