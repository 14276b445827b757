"""Forms of the repository and branch pages. They only parse input; the actions in
``branches.actions`` validate and authorize."""

from django import forms

from branches.actions import MAX_NAME


class RepositoryForm(forms.Form):
    name = forms.CharField(max_length=100)
    dsn = forms.CharField(
        label="Connection URL", max_length=2000, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={
            "placeholder": "postgresql://user:password@host:5432/dbname", "spellcheck": "false", "autocomplete": "off"}),
        help_text="The managed database, reached by a role that may install the engine. It is stored encrypted and "
                  "never shown again (type it again if the form comes back).")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    default_branch = forms.CharField(max_length=200, initial="main",
                                     help_text="Branches are compared with this one; merge requests target it by default.")
    install = forms.BooleanField(required=False, initial=True, label="Install or upgrade the pgGit engine in this database")

    def clean_dsn(self):
        dsn = self.cleaned_data["dsn"].strip()
        if not dsn.startswith(("postgresql://", "postgres://")) and "=" not in dsn:
            raise forms.ValidationError("Give a postgresql:// URL (or a key=value connection string).")
        return dsn


class BranchForm(forms.Form):
    name = forms.CharField(max_length=MAX_NAME, strip=False,
                           widget=forms.TextInput(attrs={"placeholder": "feature/new-index", "spellcheck": "false"}))
    from_ref = forms.CharField(label="From", required=False, max_length=200,
                               widget=forms.TextInput(attrs={"placeholder": "HEAD", "spellcheck": "false"}),
                               help_text="A branch, a commit id, or empty for HEAD.")
    with_data = forms.BooleanField(label="Carry the data", required=False,
                                   help_text="The branch gets the live rows of every table with a primary key, "
                                             "as they are now, without copying them; it starts at HEAD.")


class ConsoleForm(forms.Form):
    branch = forms.ChoiceField()
    sql = forms.CharField(label="SQL", strip=False,
                          widget=forms.Textarea(attrs={"class": "sql", "rows": 12, "spellcheck": "false",
                                                       "placeholder": "ALTER TABLE public.orders ADD COLUMN note text;"}))
    message = forms.CharField(required=False, max_length=500,
                              widget=forms.TextInput(attrs={"placeholder": "Commit message (optional: defaults to the first line of SQL)"}))
    with_drift = forms.BooleanField(required=False, label="Run it although the live database has drift, and record "
                                                         "the drift of the objects it changes with it")

    def __init__(self, *args, branches: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["branch"].choices = [(b, b) for b in branches]


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=[("viewer", "viewer"), ("developer", "developer"), ("reviewer", "reviewer"),
                                      ("maintainer", "maintainer"), ("none", "no role (remove)")])


class ProtectionForm(forms.Form):
    pattern = forms.CharField(max_length=200, help_text="A branch name or a shell pattern: main, release/*")
    required_approvals = forms.IntegerField(min_value=0, max_value=20, initial=1)
    allow_self_approval = forms.BooleanField(required=False)
    merge_role = forms.ChoiceField(choices=[("developer", "developer"), ("reviewer", "reviewer"),
                                            ("maintainer", "maintainer")], initial="maintainer")
    dismiss_stale_approvals = forms.BooleanField(required=False, initial=True)


class ConsoleRoleForm(forms.Form):
    role = forms.CharField(
        label="Console role", required=False, max_length=63, strip=False,
        widget=forms.TextInput(attrs={"placeholder": "shop_console", "spellcheck": "false", "autocomplete": "off"}),
        help_text="The database role the console logs in as on the checked-out branch. Empty: the console on the "
                  "checked-out branch is off.")
    password = forms.CharField(
        label="Its password", required=False, max_length=500, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted, never shown. Leave empty to keep the stored one (same role).")
    no_password = forms.BooleanField(required=False, label="The role needs no password (forget a stored one)")
