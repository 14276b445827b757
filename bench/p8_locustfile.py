"""Locust users of bench/p8_api_load.py (not run on its own): each user reads the branches, the
commit log and a compare of 100 objects through the REST API, and writes: opens a merge request
from a branch of its own, comments on it and closes it (so that it can open one again).

Environment (set by p8_api_load.py): P8_TOKEN (a developer's personal access token), P8_SLUG,
P8_FROM and P8_TO (the refs of the compare), P8_BRANCH_PREFIX (branches <prefix>0, <prefix>1, ...,
one per user)."""

from __future__ import annotations

import itertools
import os

from locust import HttpUser, between, task

TOKEN = os.environ["P8_TOKEN"]
SLUG = os.environ["P8_SLUG"]
FROM, TO = os.environ["P8_FROM"], os.environ["P8_TO"]
PREFIX = os.environ["P8_BRANCH_PREFIX"]
REPO = f"/api/v1/repositories/{SLUG}"
_numbers = itertools.count()


class ApiUser(HttpUser):
    wait_time = between(0.5, 1.5)

    def on_start(self):
        self.client.headers["Authorization"] = f"Bearer {TOKEN}"
        self.branch = f"{PREFIX}{next(_numbers)}"

    @task(4)
    def branches(self):
        self.client.get(f"{REPO}/branches/", name="GET branches")

    @task(4)
    def log(self):
        self.client.get(f"{REPO}/commits/", params={"ref": "main", "page_size": 50}, name="GET commits (log)")

    @task(2)
    def compare(self):
        with self.client.get(f"{REPO}/compare/", params={"from": FROM, "to": TO}, name="GET compare (100 objects)",
                             catch_response=True) as response:
            if response.ok and response.json()["total"] < 100:
                response.failure(f"compare has {response.json()['total']} objects, not 100")

    @task(1)
    def review(self):
        response = self.client.post(f"{REPO}/merge-requests/", name="POST merge request (open)",
                                    json={"source": self.branch, "target": "main", "title": f"Load {self.branch}"})
        if response.status_code != 201:
            return
        number = response.json()["number"]
        mr = f"{REPO}/merge-requests/{number}/"
        self.client.post(mr + "comments/", json={"body": "looks fine"}, name="POST comment")
        self.client.post(mr + "close/", name="POST merge request (close)")
