"""A tool as a form: how it signs in, its headers, what it needs (parameters) and what it sends
(body fields) as tables, what to keep from the answer. The stored JSON (headers, parameters, body)
stays editable under "Advanced"; an edited JSON box wins over the tables, as on the bot page."""

from __future__ import annotations

import json

from django import forms
from django.forms.widgets import Widget
from django.utils.html import format_html, format_html_join
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from bots.admin.forms import PrettyJSONField, ToolForm

EXTRA_ROWS = 3
TYPES = [("string", "Text"), ("integer", "Whole number"), ("number", "Number"), ("boolean", "Yes or no")]
INPUT = "border border-base-200 dark:border-base-700 rounded-default px-2 py-1 w-full bg-white dark:bg-base-900"


class TableWidget(Widget):
    """Rows of text boxes (`columns` are (key, heading) pairs); empty rows are ignored."""

    def __init__(self, columns, attrs=None):
        super().__init__(attrs)
        self.columns = columns

    def render(self, name, value, attrs=None, renderer=None):
        rows = [*(value or []), *([{}] * EXTRA_ROWS)]
        head = format_html_join(
            "", '<th class="text-left font-normal text-sm pr-2">{}</th>', ((h,) for _, h in self.columns)
        )
        body = format_html_join(
            "",
            "<tr>{}</tr>",
            (
                (
                    format_html_join(
                        "",
                        '<td class="pr-2 pb-1"><input class="{}" name="{}-{}-{}" value="{}" aria-label="{} {}"></td>',
                        ((INPUT, name, i, key, row.get(key, ""), heading, i + 1) for key, heading in self.columns),
                    ),
                )
                for i, row in enumerate(rows)
            ),
        )
        note = "Fill a row per item; empty rows are left out. Save to get more empty rows."
        return format_html(
            '<table id="{}"><tr>{}</tr>{}</table><p class="text-sm">{}</p>', attrs.get("id", name), head, body, note
        )

    def value_from_datadict(self, data, files, name):
        rows, i = [], 0
        while any(f"{name}-{i}-{key}" in data for key, _ in self.columns):
            row = {key: data.get(f"{name}-{i}-{key}", "").strip() for key, _ in self.columns}
            if row[self.columns[0][0]]:
                rows.append(row)
            i += 1
        return rows


class TableField(forms.Field):
    def __init__(self, columns, **kwargs):
        super().__init__(widget=TableWidget(columns), required=False, **kwargs)


def headers_to_rows(headers: dict) -> tuple[str, str, list[dict]]:
    """(auth kind, its secret, the other headers as rows) read back from stored headers."""
    rest = dict(headers or {})
    auth = rest.pop("Authorization", "")
    for kind, prefix in (("bearer", "Bearer "), ("basic", "Basic ")):
        if auth.startswith(prefix + "{{ secrets.") and auth.endswith("}}"):
            return kind, auth[len(prefix) + len("{{ secrets.") : -2].strip(), _rows(rest)
    return "none", "", _rows({"Authorization": auth, **rest} if auth else rest)


def _rows(headers: dict) -> list[dict]:
    return [{"name": k, "value": v} for k, v in headers.items()]


def schema_to_rows(schema: dict) -> list[dict]:
    required = set((schema or {}).get("required") or [])
    return [
        {
            "name": n,
            "type": p.get("type", "string"),
            "required": "yes" if n in required else "",
            "description": p.get("description", ""),
        }
        for n, p in ((schema or {}).get("properties") or {}).items()
    ]


def body_to_rows(body: str) -> list[dict] | None:
    """A body that is a flat JSON object of texts as rows; None when it is anything else."""
    try:
        data = json.loads(body) if body.strip() else {}
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return None
    return [{"name": k, "value": v} for k, v in data.items()]


class ToolSettingsForm(ToolForm):
    auth = forms.ChoiceField(
        label="Signing in",
        required=False,
        widget=UnfoldAdminSelectWidget,
        choices=[
            ("none", "None"),
            ("bearer", "Bearer token (Authorization: Bearer …)"),
            ("basic", "Basic (Authorization: Basic …)"),
        ],
        help_text="How the service knows it is you. The token comes from a workspace secret, never typed here.",
    )
    auth_secret = forms.CharField(
        label="Secret holding the token",
        required=False,
        widget=UnfoldAdminTextInputWidget,
        help_text="The name of a workspace secret, e.g. SHOP_API_KEY (Workspaces → Secrets).",
    )
    header_rows = TableField([("name", "Header"), ("value", "Value")], label="Headers")
    parameter_rows = TableField(
        [
            ("name", "Name"),
            ("type", "Type: string, integer, number or boolean"),
            ("required", "Required (yes)"),
            ("description", "What it is"),
        ],
        label="What the tool needs",
        help_text="The AI or the flow fills these in. Use them in the address or body as {{ name }}.",
    )
    body_rows = TableField(
        [("name", "Field"), ("value", "Value, e.g. {{ order_id }}")],
        label="Body fields",
        help_text="For POST, PUT and PATCH: the JSON fields sent. Empty sends the parameters as they are.",
    )
    headers = PrettyJSONField(required=False, label="Headers as JSON", help_text="Advanced: the headers above as JSON.")
    parameters = PrettyJSONField(
        required=False, label="Parameters as JSON Schema", help_text="Advanced: what the tool needs, as JSON Schema."
    )

    class Meta(ToolForm.Meta):
        labels = {
            "response_field": "Keep from the answer",
            "max_chars": "Longest answer the bot gets (characters)",
            "body": "Body as text (advanced)",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        auth, secret, rows = headers_to_rows(self.instance.headers)
        self.initial.update(
            auth=auth,
            auth_secret=secret,
            header_rows=rows,
            parameter_rows=schema_to_rows(self.instance.parameters),
            body_rows=body_to_rows(self.instance.body or "") or [],
        )

    def clean(self):
        data = super().clean()
        tables = {"header_rows", "parameter_rows", "body_rows", "auth", "auth_secret"}
        if not tables & set(self.changed_data) or self.errors:
            return data  # the tables were left alone: the JSON (edited or not) stays as it is
        if "headers" not in self.changed_data:
            data["headers"] = self._headers(data)
        if "parameters" not in self.changed_data:
            data["parameters"] = self._parameters(data["parameter_rows"])
        if "body" not in self.changed_data and (data["body_rows"] or body_to_rows(data.get("body") or "") is not None):
            body = {r["name"]: r["value"] for r in data["body_rows"]}
            data["body"] = json.dumps(body, ensure_ascii=False) if body else ""
        return data

    def _headers(self, data) -> dict:
        headers = {r["name"]: r["value"] for r in data["header_rows"]}
        if data["auth"] in ("bearer", "basic"):
            secret = data["auth_secret"].strip()
            if not secret:
                self.add_error("auth_secret", "Name the secret that holds the token.")
                return headers
            headers["Authorization"] = f"{data['auth'].title()} {{{{ secrets.{secret} }}}}"
            if secret not in data.get("secrets", []):
                data["secrets"] = [*data.get("secrets", []), secret]
        return headers

    def _parameters(self, rows: list[dict]) -> dict:
        properties, required = {}, []
        for row in rows:
            kind = row["type"] or "string"
            if kind not in dict(TYPES):
                self.add_error(
                    "parameter_rows", f"“{row['name']}”: the type is one of string, integer, number or boolean."
                )
                continue
            properties[row["name"]] = {
                "type": kind,
                **({"description": row["description"]} if row["description"] else {}),
            }
            if row["required"].lower() in ("yes", "y", "true", "x"):
                required.append(row["name"])
        return {"type": "object", "properties": properties, **({"required": required} if required else {})}
