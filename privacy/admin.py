"""Privacy in the admin: retention per workspace, erase or export a contact, the audit log.

Owners of a workspace (the `manage` role) see and do all of it; every action goes through
`privacy.services` and lands in the audit log."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from unfold.admin import ModelAdmin

from bots import access
from bots.access import MANAGE
from bots.admin import WorkspaceListFilter, WorkspaceScoped
from privacy import services
from privacy.models import AuditEntry, Retention


@admin.register(Retention)
class RetentionAdmin(WorkspaceScoped, ModelAdmin):
    change_action = MANAGE
    list_display = ("workspace", "days", "updated_at")
    fields = ("workspace", "days")

    def get_readonly_fields(self, request, obj=None):
        return ("workspace",) if obj else ()

    def save_model(self, request, obj, form, change):
        try:
            services.set_retention(workspace=obj.workspace, days=obj.days)
        except services.PrivacyError as exc:
            raise forms.ValidationError(str(exc)) from None

    def delete_model(self, request, obj):
        services.set_retention(workspace=obj.workspace, days=None)


class ContactForm(forms.Form):
    workspace = forms.ModelChoiceField(queryset=None, empty_label=None)
    contact_id = forms.CharField(
        max_length=200, help_text="As the channel knows them: a phone number, a Slack or widget user id."
    )
    confirm = forms.BooleanField(required=False, help_text="Tick to erase: this cannot be undone.")

    def __init__(self, *args, workspaces, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["workspace"].queryset = workspaces


@admin.register(AuditEntry)
class AuditEntryAdmin(WorkspaceScoped, ModelAdmin):
    change_action = MANAGE
    list_display = ("created_at", "actor", "action", "target_type", "target", "workspace")
    list_filter = (WorkspaceListFilter, "action", "target_type")
    search_fields = ("actor", "target")
    readonly_fields = ("created_at", "workspace", "actor", "action", "target_type", "target_id", "target", "detail")
    fields = readonly_fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view(self.contact_view)
        return [path("contact/", view, name="privacy_contact"), *super().get_urls()]

    def contact_view(self, request):
        """Erase or export one contact's data."""
        workspaces = access.workspaces_for(request.user, MANAGE).order_by("name")
        if not workspaces.exists():
            raise PermissionDenied
        form = ContactForm(request.POST or None, workspaces=workspaces)
        if request.method == "POST" and form.is_valid():
            workspace, contact = form.cleaned_data["workspace"], form.cleaned_data["contact_id"]
            if "export" in request.POST:
                data = services.export_contact(workspace=workspace, contact_id=contact, user=request.user)
                response = HttpResponse(json.dumps(data, indent=2), content_type="application/json")
                response["Content-Disposition"] = 'attachment; filename="contact-export.json"'
                return response
            if not form.cleaned_data["confirm"]:
                form.add_error("confirm", "Tick the box to confirm the erasure.")
            else:
                counts = services.erase_contact(workspace=workspace, contact_id=contact, user=request.user)
                messages.success(
                    request,
                    f"Erased: {counts['conversations']} conversations, {counts['messages']} messages, "
                    f"{'their memory' if counts['memory'] else 'no memory'}.",
                )
                return redirect("admin:privacy_contact")
        context = {**self.admin_site.each_context(request), "title": "Erase or export a contact", "form": form}
        return TemplateResponse(request, "privacy/contact.html", context)
