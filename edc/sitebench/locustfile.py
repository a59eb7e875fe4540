"""A site's working day for Locust (no Django import: it drives the site over HTTP only).

Site staff (coordinators and investigators of two sites) sign in, open the to-do list, open a
subject, correct a vital-signs form (with a reason), answer a query and list the queries; one
data manager lists queries and starts exports. The plan (users, subjects, forms, queries) is
the JSON file named by SITEBENCH_PLAN, written by edc.sitebench.prepare.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
from collections import deque

from locust import HttpUser, between, task

PLAN = json.loads(open(os.environ["SITEBENCH_PLAN"]).read())  # noqa: SIM115 - read once
STUDY = PLAN["study"]
ROW_VERSION = re.compile(r'name="row_version"\s+value="(\d+)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')
# Each form is corrected by one user at a time (two at once would be a stale-write conflict,
# which the site refuses by design); each open query is answered once.
FORMS = {code: deque(site["forms"]) for code, site in PLAN["sites"].items()}
QUERIES = {code: deque(site["queries"]) for code, site in PLAN["sites"].items()}
STAFF = itertools.cycle(
    [(code, name) for code, site in sorted(PLAN["sites"].items()) for name in site["staff"]]
)


def sign_in(user: HttpUser, username: str) -> None:
    page = user.client.get("/accounts/login/", name="sign in (page)")
    token = CSRF.search(page.text)
    data = {"username": username, "password": PLAN["password"]}
    if token:
        data["csrfmiddlewaretoken"] = token.group(1)
    post(user, "/accounts/login/", data, "sign in")


def post(user: HttpUser, url: str, data: dict, name: str, expect: int = 302) -> None:
    data.setdefault("csrfmiddlewaretoken", user.client.cookies.get("csrftoken", ""))
    with user.client.post(
        url,
        data,
        headers={"Referer": user.host + url},
        name=name,
        allow_redirects=False,
        catch_response=True,
    ) as response:
        if response.status_code != expect:
            response.failure(f"{response.status_code}: {response.text[:200]}")


class SiteStaff(HttpUser):
    weight = 10
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.site, self.username = next(STAFF)
        self.plan = PLAN["sites"][self.site]
        sign_in(self, self.username)

    @task(1)  # a few sign-ins a day against dozens of pages
    def sign_in_again(self) -> None:
        self.client.cookies.clear()
        sign_in(self, self.username)

    @task(8)
    def todo_list(self) -> None:
        self.client.get(f"/studies/{STUDY}/schedule/sites/{self.site}/todo/", name="to-do list")

    @task(8)
    def open_subject(self) -> None:
        subject = random.choice(self.plan["subjects"])
        self.client.get(f"/studies/{STUDY}/subjects/{subject}/", name="open subject")

    @task(6)
    def save_crf(self) -> None:
        pool = FORMS[self.site]
        if not pool:
            return
        form = pool.popleft()
        try:
            page = self.client.get(form["url"], name="open form")
            version = ROW_VERSION.search(page.text)
            if version is None:
                return
            body = dict(form["body"])
            body["WEIGHT"] = random.choice(["58.5", "60.0", "61.5", "63.0"])
            post(
                self,
                form["url"],
                {
                    **body,
                    "row_version": version.group(1),
                    "action": "save",
                    "confirm_warnings": "1",
                    "reason": "Re-weighed at the visit",
                },
                "save form",
            )
        finally:
            pool.append(form)

    @task(2)
    def answer_query(self) -> None:
        pool = QUERIES[self.site]
        if pool:
            query = pool.popleft()
            post(
                self,
                f"/studies/{STUDY}/dm/queries/{query}/",
                {"action": "answer", "text": "Checked against the source: the value is right."},
                "answer query",
            )

    @task(4)
    def list_queries(self) -> None:
        self.client.get(f"/studies/{STUDY}/dm/queries/", name="list queries")


class DataManager(HttpUser):
    fixed_count = 1
    wait_time = between(5, 10)

    def on_start(self) -> None:
        sign_in(self, "datamanager")

    @task(3)
    def list_queries(self) -> None:
        self.client.get(f"/studies/{STUDY}/dm/queries/", name="list queries")

    @task(1)
    def start_export(self) -> None:
        self.client.get(f"/studies/{STUDY}/exports/", name="exports (page)")
        post(self, f"/studies/{STUDY}/exports/", {"formats": "csv"}, "start export")
