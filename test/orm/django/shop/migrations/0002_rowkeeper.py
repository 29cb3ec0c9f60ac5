# rowkeeper's enable_* calls as a migration of their own, disable_* as its reverse.
from django.db import migrations

TABLES = ["shop_customer", "shop_order"]


class Migration(migrations.Migration):
    dependencies = [("shop", "0001_initial")]
    operations = [
        migrations.RunSQL(
            sql=[f"SELECT rowkeeper.enable_{what}('{t}')"
                 for t in TABLES for what in ("audit", "updated_at", "tenant_isolation")]
                + ["GRANT SELECT, INSERT, UPDATE, DELETE ON shop_customer, shop_order TO app",
                   "GRANT USAGE ON SEQUENCE shop_customer_id_seq, shop_order_id_seq TO app"],
            reverse_sql=["REVOKE ALL ON shop_customer, shop_order FROM app",
                         "REVOKE ALL ON SEQUENCE shop_customer_id_seq, shop_order_id_seq FROM app"]
                + [f"SELECT rowkeeper.disable_{what}('{t}')"
                   for t in reversed(TABLES) for what in ("tenant_isolation", "updated_at", "audit")]),
    ]
