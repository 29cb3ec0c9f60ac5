from django.db import models


class Customer(models.Model):
    tenant_id = models.BigIntegerField()
    full_name = models.CharField(max_length=100)
    email = models.CharField(max_length=100, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["tenant_id", "email"], name="customer_tenant_email")]


class Order(models.Model):
    tenant_id = models.BigIntegerField()
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT)
    total = models.IntegerField()
    updated_at = models.DateTimeField(auto_now=True)


class Note(models.Model):
    tenant_id = models.BigIntegerField()
    order = models.ForeignKey(Order, on_delete=models.CASCADE)
    body = models.TextField()
