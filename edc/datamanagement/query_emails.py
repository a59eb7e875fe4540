"""The text of the e-mails that tell a site of new queries.

They carry no clinical value: not the item's value, not the question (a monitor may quote the
source in it). They name the subject by study ID, the form, the item and where to answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from edc.studies.protocol import find_form, form_items


def _where(query) -> str:
    form = query.form_instance
    definition = find_form(form.protocol_version.definition, form.form_code) or {}
    item = form_items(definition).get(query.item_code, {})
    row = _(" (row %(row)s)") % {"row": query.group_row} if query.group_row else ""
    return _("%(subject)s · %(form)s at %(event)s #%(repeat)s · %(item)s%(row)s") % {
        "subject": query.subject.subject_id,
        "form": definition.get("name", form.form_code),
        "event": form.event_code,
        "repeat": form.event_repeat,
        "item": item.get("label", query.item_code),
        "row": row,
    }


def _link(query, study_code: str) -> str:
    path = reverse("dm-query", kwargs={"study_code": study_code, "pk": query.pk})
    return f"{getattr(settings, 'EDC_BASE_URL', '').rstrip('/')}{path}"


def message(notice, queries: Sequence) -> tuple[str, str]:
    """(subject line, body) of one query notice: a single query or a site's daily digest."""
    site = notice.site
    study_code = site.study.code
    if notice.kind == "immediate":
        query = queries[0]
        title = _("[%(study)s] New query Q%(pk)s for %(subject)s") % {
            "study": study_code,
            "pk": query.pk,
            "subject": query.subject.subject_id,
        }
    else:
        title = _("[%(study)s] Site %(site)s: %(count)s new query(ies) on %(day)s") % {
            "study": study_code,
            "site": site.code,
            "count": len(queries),
            "day": notice.day,
        }
    lines = [
        _("A data manager or monitor has asked site %(site)s of %(study)s about the data:")
        % {"site": site.code, "study": study_code},
        "",
    ]
    for query in queries:
        lines.append(f"- Q{query.pk}: {_where(query)}")
        lines.append(f"  {_link(query, study_code)}")
    lines += [
        "",
        _(
            "Open each query in the EDC, where the queried item is flagged on its form, and "
            "answer it there. This e-mail names subjects by study ID only and quotes no data."
        ),
    ]
    return title, "\n".join(lines)
