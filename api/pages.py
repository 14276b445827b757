"""The user's settings page for personal access tokens: list, create (the token shown once), revoke."""

from __future__ import annotations

from datetime import datetime, time

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone

from api import tokens
from branches.access import visible_repositories
from branches.models import Role
from pggit_web.errors import ActionError


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “CI deploy”.")
    repositories = forms.ModelMultipleChoiceField(queryset=None, to_field_name="slug",
                                                  widget=forms.CheckboxSelectMultiple)
    max_role = forms.TypedChoiceField(label="Highest role", choices=[(r.value, r.label) for r in Role],
                                      coerce=int, initial=Role.VIEWER.value,
                                      help_text="The token acts with the lower of this and your own role.")
    expires_on = forms.DateField(label="Expires on", required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Leave empty for a token that does not expire.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["repositories"].queryset = visible_repositories(user)

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is not None and day <= timezone.localdate():
            raise forms.ValidationError("Choose a day after today.")
        return day


def tokens_page(request):
    created = None
    form = TokenForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST" and request.POST.get("revoke"):
        try:
            tokens.revoke_token(request.user, request.POST["revoke"])
        except ActionError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, "The token is revoked: it no longer works.")
        return redirect("api_tokens")
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            expires = data["expires_on"] and timezone.make_aware(datetime.combine(data["expires_on"], time.min))
            try:
                created = tokens.create_token(request.user, name=data["name"], repositories=list(data["repositories"]),
                                              max_role=Role(data["max_role"]), expires_at=expires or None)
            except ActionError as exc:
                form.add_error(None, str(exc))
                status = exc.status
            else:
                form = TokenForm(user=request.user)
        else:
            status = 400
    return render(request, "api/tokens.html", {
        "form": form, "tokens": tokens.user_tokens(request.user), "created": created and created[0],
        "created_text": created and created[1]}, status=status)
