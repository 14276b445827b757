"""Forms of the merge request pages. They only parse input; ``merges.actions`` validates and
authorizes (title length, strategy, branches that exist, who may do what)."""

from django import forms

from merges.actions import MAX_TITLE
from merges.models import STRATEGIES, Review

BRANCH_ATTRS = {"spellcheck": "false", "list": "branch-names", "autocomplete": "off"}


class MergeRequestForm(forms.Form):
    source = forms.CharField(max_length=200, strip=False, widget=forms.TextInput(attrs=BRANCH_ATTRS),
                             help_text="The branch with the changes.")
    target = forms.CharField(max_length=200, strip=False, widget=forms.TextInput(attrs=BRANCH_ATTRS),
                             help_text="The branch they go into.")
    title = forms.CharField(max_length=MAX_TITLE,
                            widget=forms.TextInput(attrs={"placeholder": "Add a color to widgets"}))
    description = forms.CharField(required=False, widget=forms.Textarea(
        attrs={"rows": 6, "placeholder": "Why this change, what to look at, how it was tested."}))
    strategy = forms.ChoiceField(choices=STRATEGIES, initial="auto")
    draft = forms.BooleanField(required=False, label="Open as a draft (not ready for review yet)")


class EditForm(forms.Form):
    title = forms.CharField(max_length=MAX_TITLE)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 6}))
    strategy = forms.ChoiceField(choices=STRATEGIES)
    target = forms.CharField(required=False, max_length=200, strip=False, widget=forms.TextInput(attrs=BRANCH_ATTRS),
                             help_text="The branch the changes go into.")

    def clean_target(self):
        return self.cleaned_data.get("target") or None


class RetargetForm(forms.Form):
    target = forms.CharField(max_length=200, strip=False, widget=forms.TextInput(attrs=BRANCH_ATTRS))


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", required=False,
                           widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Leave a comment"}))
    suggestion = forms.CharField(required=False, max_length=100_000, strip=False, widget=forms.Textarea(
        attrs={"class": "sql", "rows": 3, "spellcheck": "false"}))
    object_identity = forms.CharField(required=False, max_length=1000, widget=forms.HiddenInput)
    line = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)
    parent = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class ReviewForm(forms.Form):
    verdict = forms.ChoiceField(choices=Review.Verdict.choices, widget=forms.RadioSelect, initial="comment")
    body = forms.CharField(required=False, label="Review", widget=forms.Textarea(
        attrs={"rows": 4, "placeholder": "Summarize your review (required to request changes)"}))


class MergeForm(forms.Form):
    strategy = forms.ChoiceField(choices=STRATEGIES, required=False)
    force = forms.BooleanField(required=False)


class ResolveForm(forms.Form):
    """One object of the conflicts page: the edited text, or a quick choice of one side."""

    object = forms.CharField(max_length=1000)
    result = forms.CharField(required=False, strip=False, widget=forms.Textarea(
        attrs={"class": "sql", "rows": 14, "spellcheck": "false"}))
    choice = forms.ChoiceField(required=False, choices=[("", "edited text"), ("source", "source"),
                                                        ("target", "target"), ("base", "base")])
    force = forms.BooleanField(required=False)


class DataResolveForm(forms.Form):
    """One row (``column`` empty) or cell of a data conflict: which side to take, or a typed value
    (``value``; ``null`` ticked: NULL)."""

    TAKES = [("source", "source"), ("target", "target"), ("base", "base"), ("value", "typed value")]

    table = forms.CharField(max_length=1000)
    key = forms.JSONField()
    column = forms.CharField(max_length=200, required=False, strip=False)
    take = forms.ChoiceField(choices=TAKES)
    value = forms.CharField(required=False, strip=False)
    null = forms.BooleanField(required=False)

    def typed_value(self):
        if self.cleaned_data.get("take") != "value" or self.cleaned_data.get("null"):
            return None
        return self.cleaned_data.get("value", "")
