"""An application's models, unchanged: they know nothing of data branches."""

from django.db import models


class Customer(models.Model):
    name = models.TextField(unique=True)

    class Meta:
        app_label = "orm_branch"
        db_table = "customers"


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    item = models.TextField()
    qty = models.IntegerField(default=1)
    placed = models.DateTimeField(auto_now_add=True)
    data = models.JSONField(default=dict)

    class Meta:
        app_label = "orm_branch"
        db_table = "orders"
