"""Demo data for data management: queries in each state, SDV, a signature and a form lock on
forms the CRF demo step filled. Call after the CRF demo step; a study that already has
queries is left alone, so running the seed twice adds nothing."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model

from crf.models import FormInstance, FormStatus
from edc.audit.context import ChangeContext
from edc.audit.models import Channel
from edc.datamanagement import services
from edc.datamanagement.models import Query
from edc.studies.protocol import find_form, form_items


def _ctx(username: str) -> ChangeContext:
    user = get_user_model().objects.get(username=username)
    return ChangeContext(user=user, channel=Channel.SYSTEM, reason="seed_demo")


def _first_item(form: FormInstance) -> str | None:
    definition = find_form(form.protocol_version.definition, form.form_code)
    items = [code for code in form_items(definition or {}) if code in form.data]
    return items[0] if items else None


def seed_demo_datamanagement(demo_studies, today: dt.date | None = None) -> None:
    from edc.demo.services import DEMO_PASSWORD

    for demo in demo_studies:
        study = demo.study
        if Query.objects.filter(study=study).exists():
            continue
        site = demo.sites.get("01")
        forms = list(
            FormInstance.objects.filter(study=study, site=site, status=FormStatus.COMPLETE)
            .select_related("protocol_version")
            .order_by("subject_id", "event_code", "form_code")[:4]
        )
        forms = [f for f in forms if _first_item(f)]
        if not forms:
            continue
        monitor, coordinator = _ctx("monitor"), _ctx("coordinator")
        first = forms[0]
        answered = services.raise_query(
            monitor,
            first,
            item_code=_first_item(first),
            text="Please confirm this value against the source document.",
        )
        services.act_on_query(coordinator, answered, "answer", "Confirmed against the chart.")
        services.verify_source(monitor, first)
        services.sign(
            _ctx("investigator"),
            level="form",
            target=first,
            password=DEMO_PASSWORD,
            meaning=services.DEFAULT_MEANING,
        )
        if len(forms) > 1:
            services.raise_query(
                monitor,
                forms[1],
                item_code=_first_item(forms[1]),
                text="The value differs from the hospital record; please check.",
            )
        if len(forms) > 2:
            services.lock(_ctx("datamanager"), "form", forms[2], reason="Reviewed and clean (demo)")
