"""Admin for repositories, their role groups and branch protection rules.

Branches and commits are not Django models: the repository admin reads them from the engine
on each request (``<id>/branches/``, ``<id>/commits/?ref=``, ``<id>/commits/<commit>/``), so
what the admin shows cannot drift from the managed database.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from branches.engine import EngineUnavailable, engine_client
from branches.models import BranchProtection, Repository, RepositoryGroup
from pggit_web.errors import ActionError, refusal_message

LOG_LIMITS = (50, 200, 1000)


class RoleGroupInline(admin.TabularInline):
    """The four role groups are made with the repository; membership is edited on the user."""

    model = RepositoryGroup
    fields = ["role", "group_link", "members"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name = "role group"
    verbose_name_plural = "role groups (add a user to a group to grant the role)"

    @admin.display(description="group")
    def group_link(self, obj):
        url = reverse("admin:auth_group_change", args=[obj.group_id])
        return format_html('<a href="{}">{}</a>', url, obj.group.name)

    @admin.display(description="members")
    def members(self, obj):
        names = sorted(obj.group.user_set.values_list("username", flat=True))
        return ", ".join(names) or "—"


class ProtectionInline(admin.TabularInline):
    model = BranchProtection
    extra = 0
    fields = ["pattern", "position", "required_approvals", "allow_self_approval", "merge_role",
              "dismiss_stale_approvals"]


class RepositoryForm(forms.ModelForm):
    """Never shows the connection URL or the console password: both are password inputs, left
    empty to keep what is stored. A new or changed URL is checked like on the "New repository"
    page (``check_dsn_target``), a console role like on the Settings page."""

    dsn = forms.CharField(
        label="Connection URL", required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"size": 90, "autocomplete": "off"}))
    console_password = forms.CharField(
        label="Console password", required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Stored encrypted, never shown. Leave empty to keep the stored one (same role).")
    no_console_password = forms.BooleanField(required=False, label="The console role needs no password")

    request = None  # set by RepositoryAdmin.get_form

    class Meta:
        model = Repository
        fields = "__all__"
        widgets = {"console_role": forms.TextInput(attrs={"autocomplete": "off"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["console_role"].strip = False
        if self.instance.pk:
            self.fields["dsn"].help_text = (f"Now: {self.instance.masked_dsn}. Leave empty to keep it; a new URL "
                                            "is checked before it is saved.")
        else:
            self.fields["dsn"].help_text = "postgresql://user:password@host:port/dbname of the managed database."

    def clean_dsn(self):
        value = self.cleaned_data["dsn"].strip()
        if not value:
            if not self.instance.pk:
                raise ValidationError("A repository needs a connection URL.")
            return self.instance.dsn
        return value

    def clean(self):
        from branches.actions import check_console_role, check_dsn_target

        data = super().clean()
        dsn = data.get("dsn")
        if dsn is None:
            return data
        user = self.request.user if self.request is not None else None
        if not self.instance.pk or dsn != self.instance.dsn:
            try:
                identity = check_dsn_target(user, dsn, exclude=self.instance if self.instance.pk else None)
            except ActionError as exc:
                self.add_error("dsn", str(exc))
                return data
            self.instance.database_identity = identity.as_dict()
        role = data.get("console_role") or ""
        password = data.get("console_password") or ""
        if not password and not data.get("no_console_password") and role == self.instance.console_role:
            password = self.instance.console_password
        data["console_password"] = password if role else ""
        if role and (role != self.instance.console_role or password != self.instance.console_password
                     or dsn != self.instance.dsn or data.get("no_console_password")):
            try:
                check_console_role(dsn, role, password)
            except ActionError as exc:
                self.add_error("console_role", str(exc))
        return data


@admin.register(Repository)
class RepositoryAdmin(admin.ModelAdmin):
    form = RepositoryForm
    list_display = ["name", "slug", "connection", "default_branch", "created_at", "engine_links"]
    list_filter = ["created_at"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "created_by", "engine_links"]
    fields = ["name", "slug", "dsn", "description", "default_branch", "console_role", "console_password",
              "no_console_password", "created_by", "created_at", "engine_links"]
    inlines = [RoleGroupInline, ProtectionInline]
    actions = ["install_engine"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    @admin.display(description="connection URL")
    def connection(self, obj):
        return obj.masked_dsn

    @admin.display(description="engine")
    def engine_links(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html_join(
            " · ", '<a href="{}">{}</a>',
            [(reverse("admin:branches_repository_branches", args=[obj.pk]), "branches"),
             (reverse("admin:branches_repository_commits", args=[obj.pk]), "commits")],
        )

    def save_model(self, request, obj, form, change):
        """A repository added here is set up like one added on the "New repository" page: its
        creator becomes maintainer and its default branch is protected."""
        from branches.access import grant
        from branches.models import Role

        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if not change:
            grant(obj, request.user, Role.MAINTAINER)

    def save_related(self, request, form, formsets, change):
        from branches.actions import protect_default_branch

        super().save_related(request, form, formsets, change)
        if not change:  # after the inlines: a rule for the default branch given there is kept
            protect_default_branch(form.instance)

    # actions ----------------------------------------------------------------------------

    @admin.action(description="Install or upgrade the engine")
    def install_engine(self, request, queryset):
        from branches.actions import install_engine

        for repo in queryset:
            try:
                version = install_engine(request.user, repo)
            except (ActionError, PermissionDenied, Http404) as e:
                self.message_user(request, f"{repo.name}: {refusal_message(e)}", messages.ERROR)
            else:
                self.message_user(request, f"{repo.name}: engine {version} installed", messages.SUCCESS)

    # read-only engine pages ---------------------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:object_id>/branches/", view(self.branches_view), name="branches_repository_branches"),
            path("<int:object_id>/commits/", view(self.commits_view), name="branches_repository_commits"),
            path("<int:object_id>/commits/<str:commit>/", view(self.commit_view),
                 name="branches_repository_commit"),
        ] + super().get_urls()

    def _repository(self, request, object_id) -> Repository:
        repo = self.get_object(request, str(object_id))
        if repo is None:
            raise Http404("No such repository")
        if not self.has_view_permission(request, repo):
            raise PermissionDenied
        return repo

    def _render(self, request, repo, template, title, context):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": repo,
            "repo": repo,
            "dsn": repo.masked_dsn,
            "title": title,
            "has_view_permission": True,
            **context,
        }
        status = 503 if context.get("error") else 200
        return TemplateResponse(request, template, context, status=status)

    def branches_view(self, request, object_id):
        """Every branch of the repository, read from its engine."""
        repo = self._repository(request, object_id)
        context = {"branches": [], "current_branch": None}
        try:
            with engine_client(repo.dsn) as client:
                context["current_branch"] = client.current_branch()
                context["branches"] = client.branches()
                context["version"] = client.version()
        except EngineUnavailable as e:
            context["error"] = str(e)
        return self._render(request, repo, "admin/branches/repository/branches.html",
                            f"Branches of {repo.name}", context)

    def commits_view(self, request, object_id):
        """The history reachable from ``?ref=`` (HEAD by default), newest first."""
        repo = self._repository(request, object_id)
        ref = request.GET.get("ref", "").strip() or None
        try:
            limit = int(request.GET.get("limit", LOG_LIMITS[0]))
        except ValueError:
            limit = LOG_LIMITS[0]
        limit = min(max(limit, 1), LOG_LIMITS[-1])
        context = {"ref": ref or "", "limit": limit, "limits": LOG_LIMITS, "commits": [], "branches": []}
        try:
            with engine_client(repo.dsn) as client:
                context["branches"] = [b["name"] for b in client.branches()]
                context["commits"] = client.log(ref, limit)
        except EngineUnavailable as e:
            context["error"] = str(e)
        title = f"Commits of {repo.name}" + (f" on {ref}" if ref else "")
        return self._render(request, repo, "admin/branches/repository/commits.html", title, context)

    def commit_view(self, request, object_id, commit):
        """The object changes one commit made against its first parent."""
        repo = self._repository(request, object_id)
        context = {"commit": commit, "changes": [], "info": None}
        try:
            with engine_client(repo.dsn) as client:
                context["changes"] = client.show(commit)
                full = client.resolve(commit)
                context["info"] = next(iter(client.log(full, 1)), None)
        except EngineUnavailable as e:
            context["error"] = str(e)
        return self._render(request, repo, "admin/branches/repository/commit.html",
                            f"Commit {commit[:12]} of {repo.name}", context)


@admin.register(RepositoryGroup)
class RepositoryGroupAdmin(admin.ModelAdmin):
    """Read-only: the groups are made with their repository. Grant a role by adding a user to
    the linked group (on the user's page, "Groups")."""

    list_display = ["group", "repository", "role", "member_count"]
    list_filter = ["role", "repository"]
    search_fields = ["group__name", "repository__name", "repository__slug"]
    list_select_related = ["group", "repository"]

    @admin.display(description="members")
    def member_count(self, obj):
        return obj.group.user_set.count()

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BranchProtection)
class BranchProtectionAdmin(admin.ModelAdmin):
    list_display = ["pattern", "repository", "position", "required_approvals", "allow_self_approval", "merge_role",
                    "dismiss_stale_approvals"]
    list_filter = ["repository", "merge_role", "allow_self_approval", "dismiss_stale_approvals"]
    search_fields = ["pattern", "repository__name", "repository__slug"]
    list_select_related = ["repository"]

