"""The notifications page (list, mark one read, mark all read) and the email preferences page.
Each calls ``monitoring.notification_reads`` / ``notification_actions``, as the API does."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from monitoring import notification_actions as actions
from monitoring import notification_reads as reads
from monitoring.models import NotificationReason
from pggit_web.errors import NotFound

PER_PAGE = 50


def notification_list(request):
    unread_only = request.GET.get("filter") == "unread"
    paginator = Paginator(reads.notifications(request.user, unread_only), PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "monitoring/notifications.html", {
        "page": page, "notifications": page.object_list, "unread_only": unread_only,
        "unread": reads.unread_count(request.user)})


@require_POST
def mark_read(request, notification_id):
    """Mark one read; with ``open``, go on to its page (the list's links)."""
    try:
        notification = actions.mark_read(request.user, notification_id)
    except NotFound as exc:
        raise Http404(exc.message) from None
    target = notification.get_absolute_url()
    if request.POST.get("open") and target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return redirect(target)
    return redirect("notifications:list")


@require_POST
def mark_all_read(request):
    marked = actions.mark_all_read(request.user)
    messages.success(request, f"Marked {marked} notification{'s' if marked != 1 else ''} read.")
    return redirect("notifications:list")


class PreferencesForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for reason, label in NotificationReason.choices:
            self.fields[f"email_{reason}"] = forms.BooleanField(required=False, label=label.capitalize())


def preferences(request):
    preference = reads.preferences(request.user)
    initial = {name: on for name, _, on in reads.preference_rows(preference)}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actions.set_preferences(request.user, **form.cleaned_data)
        messages.success(request, "Email preferences saved.")
        return redirect("notifications:preferences")
    return render(request, "monitoring/notification_preferences.html", {
        "form": form, "has_email": bool(request.user.email)}, status=400 if form.is_bound else 200)
