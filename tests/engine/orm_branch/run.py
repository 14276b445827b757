"""Runs an application's ORM work against the connection string given as argv[1] (a data
branch's, from ``pggit connect``), as that application would: Django configured only with the
string. Prints one line of JSON with what it saw."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from psycopg.conninfo import conninfo_to_dict  # noqa: E402

params = conninfo_to_dict(sys.argv[1])
settings.configure(
    DATABASES={"default": {
        "ENGINE": "django.db.backends.postgresql", "NAME": params.pop("dbname"), "USER": params.pop("user", ""),
        "HOST": params.pop("host", ""), "PORT": params.pop("port", ""), "PASSWORD": params.pop("password", ""),
        "OPTIONS": params,
    }},
    INSTALLED_APPS=["orm_branch"], USE_TZ=True, DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
)
django.setup()

from django.db import IntegrityError, transaction  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402
from orm_branch.models import Customer, Order  # noqa: E402

seen: dict = {"before": Order.objects.count()}
ann = Customer.objects.create(name="Ann")
Order.objects.bulk_create([Order(customer=ann, item=f"bulk {i}", qty=i) for i in range(1, 4)])
order = Order.objects.create(customer=ann, item="single", data={"gift": True})
order.qty = 9
order.save()
Order.objects.filter(item="first").update(qty=42)
Order.objects.filter(item="second").delete()
customer, created = Customer.objects.get_or_create(name="Ann")
seen["get_or_create_found"] = not created and customer.pk == ann.pk
try:
    with transaction.atomic():
        Customer.objects.create(name="Ann")
except IntegrityError:
    seen["duplicate_refused"] = True
seen["after"] = Order.objects.count()
# (grouped by the name: a view has no primary key whose functional dependency PostgreSQL would
# use, so a GROUP BY of the key alone cannot select the other columns: docs/engine.md)
seen["per_customer"] = {r["name"]: r["n"] for r in Customer.objects.values("name").annotate(n=Count("orders"))}
seen["qty_total"] = Order.objects.aggregate(s=Sum("qty"))["s"]
seen["first_qty"] = Order.objects.get(item="first").qty
seen["gift"] = Order.objects.get(pk=order.pk).data
print(json.dumps(seen, sort_keys=True))
