# A follow-up migration, run by the owner without a tenant on tables that
# hold every tenant's rows: add a column, add an index, rename a column,
# and a new model with a foreign key to an isolated, audited table (Django
# adds it with ALTER TABLE ... ADD CONSTRAINT ... FOREIGN KEY, which
# PostgreSQL validates across all rows).
from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_rowkeeper")]
    operations = [
        migrations.AddField(model_name="customer", name="email",
                            field=models.CharField(default="", max_length=100)),
        migrations.AddIndex(model_name="customer",
                            index=models.Index(fields=["tenant_id", "email"], name="customer_tenant_email")),
        migrations.RenameField(model_name="customer", old_name="name", new_name="full_name"),
        migrations.CreateModel(
            name="Note",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tenant_id", models.BigIntegerField()),
                ("body", models.TextField()),
                ("order", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="shop.order")),
            ],
        ),
        migrations.RunSQL(
            sql=["SELECT rowkeeper.enable_audit('shop_note')",
                 "SELECT rowkeeper.enable_tenant_isolation('shop_note')",
                 "GRANT SELECT, INSERT, UPDATE, DELETE ON shop_note TO app",
                 "GRANT USAGE ON SEQUENCE shop_note_id_seq TO app"],
            reverse_sql=["SELECT rowkeeper.disable_tenant_isolation('shop_note')",
                         "SELECT rowkeeper.disable_audit('shop_note')"]),
    ]
