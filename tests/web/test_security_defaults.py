"""Secure defaults of the Django project (issue 9): the admin signs in through allauth's rate-limited
page, every page carries a Content-Security-Policy it passes (no inline script, style or event
handler), HTTPS settings come from the environment with secure defaults when DEBUG is off, and
``manage.py check --deploy`` is clean with production settings."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from tests.web.conftest import PASSWORD
from tests.web.test_settings import SETTINGS_VARIABLES, load_settings

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"

# What an inline script, inline style or inline event handler looks like in HTML.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=|hx-on|javascript:", re.I)


def inline_code(html: str) -> list[str]:
    return [m.group(0) for pattern in (INLINE_SCRIPT, INLINE_STYLE, INLINE_HANDLER) for m in pattern.finditer(html)]


def signed_in_user_id(client):
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


# --- the admin signs in on allauth's page ---------------------------------------------------------

@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("sue_super", "sue@example.com", PASSWORD)


@pytest.fixture
def no_rate_limit_history():
    """allauth counts attempts in the cache; start each test with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.mark.django_db
def test_admin_login_offers_no_form_and_sends_to_the_allauth_login_keeping_next(client):
    response = client.get(ADMIN_LOGIN + "?next=/admin/merges/")
    assert response.status_code == 302
    assert response["Location"] == LOGIN + "?next=/admin/merges/"
    assert b'name="password"' not in response.content
    # The admin index of a visitor ends on the allauth login page.
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == LOGIN + "?next=/admin/"
    assert 'id="login-form"' in response.content.decode()


@pytest.mark.django_db
def test_admin_login_does_not_send_elsewhere(client):
    response = client.get(ADMIN_LOGIN + "?next=https://evil.example.com/")
    assert response["Location"] == LOGIN + "?next=/admin/"


@pytest.mark.django_db
def test_admin_login_post_signs_nobody_in(client, superuser):
    response = client.post(ADMIN_LOGIN, {"username": "sue_super", "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert signed_in_user_id(client) is None


@pytest.mark.django_db
def test_admin_signs_in_on_the_allauth_page_and_lands_in_the_admin(client, superuser, no_rate_limit_history):
    response = client.post(LOGIN, {"login": "sue_super", "password": PASSWORD, "next": "/admin/"})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get(ADMIN_LOGIN + "?next=/admin/merges/")["Location"] == "/admin/merges/"


@pytest.mark.django_db
def test_signed_in_user_without_admin_access_gets_403_not_a_redirect_loop(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nora", "nora@example.com", PASSWORD))
    assert client.get(ADMIN_LOGIN + "?next=/admin/").status_code == 403


@pytest.mark.django_db
def test_after_too_many_failed_sign_ins_the_right_password_is_refused_everywhere(
        client, superuser, no_rate_limit_history):
    for _ in range(5):  # allauth: login_failed 5 per 5 minutes per account
        response = client.post(LOGIN, {"login": "sue_super", "password": "wrong"})
        assert response.status_code == 200 and signed_in_user_id(client) is None
    response = client.post(LOGIN, {"login": "sue_super", "password": PASSWORD})
    assert signed_in_user_id(client) is None
    assert "Too many failed login attempts" in response.content.decode()
    # The admin's own form would have let it in (ModelBackend has no limit): there is none.
    client.post(ADMIN_LOGIN, {"username": "sue_super", "password": PASSWORD, "next": "/admin/"})
    assert signed_in_user_id(client) is None
    assert client.get("/admin/").status_code == 302


# --- Content-Security-Policy ------------------------------------------------------------------------

EXPECTED_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.django_db
def test_every_response_carries_the_policy(client):
    for url in (LOGIN, "/accounts/password/reset/", "/admin/login/", "/"):
        response = client.get(url)
        assert policy(response) == EXPECTED_POLICY, url
        assert "unsafe" not in response["Content-Security-Policy"]


def test_templates_hold_no_inline_script_style_or_handler():
    found = {}
    for path in sorted((ROOT / "templates").rglob("*.html")):
        hits = inline_code(path.read_text())
        if hits:
            found[str(path.relative_to(ROOT))] = hits
    assert found == {}


def test_htmx_is_told_not_to_eval_or_inject_styles():
    base = (ROOT / "templates" / "base.html").read_text()
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false, "allowEval": false,' in base
    assert "js/pggit.js" in base and (ROOT / "static" / "js" / "pggit.js").is_file()


@pytest.mark.django_db(transaction=True)
def test_pages_of_a_repository_hold_no_inline_code(as_user, maintainer, repo, admin_client):
    client = as_user(maintainer)
    slug = repo.slug
    head = client.get(reverse("branches:branch_list", args=[slug])).context["branches"][0].head
    urls = [reverse("branches:repository_list")] + [reverse(f"branches:{name}", args=[slug]) for name in (
        "dashboard", "drift", "branch_list", "commit_log", "compare", "object_history", "console", "settings")]
    urls += [reverse("branches:commit_detail", args=[slug, head]),
             reverse("branches:compare", args=[slug]) + "?from=main&to=feature-colors",
             reverse("merges:list", args=[slug]), reverse("merges:new", args=[slug])]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url
    for url in (reverse("admin:index"), reverse("admin:branches_repository_branches", args=[repo.pk]),
                reverse("admin:branches_repository_commits", args=[repo.pk]),
                reverse("admin:branches_repository_commit", args=[repo.pk, head])):
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url


@pytest.mark.django_db
def test_confirmations_are_data_attributes_the_script_handles(as_user, maintainer, repo):
    page = as_user(maintainer).get(reverse("branches:branch_list", args=[repo.slug])).content.decode()
    assert 'data-confirm="Delete this branch?"' in page
    script = (ROOT / "static" / "js" / "pggit.js").read_text()
    assert 'getAttribute("data-confirm")' in script and "window.confirm" in script


# --- HTTPS settings ---------------------------------------------------------------------------------

HTTPS_SETTINGS = ("SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
                  "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER")


def https_settings(**env) -> dict:
    code, output = load_settings(*HTTPS_SETTINGS, SECRET_KEY="k" * 50, **env)
    assert code == 0, output
    values = output.strip().splitlines()[-len(HTTPS_SETTINGS):]
    return dict(zip(HTTPS_SETTINGS, values))


def test_https_is_assumed_when_debug_is_off():
    assert https_settings(DEBUG="false") == {
        "SECURE_SSL_REDIRECT": "True", "SECURE_HSTS_SECONDS": "31536000", "SECURE_HSTS_INCLUDE_SUBDOMAINS": "True",
        "SECURE_HSTS_PRELOAD": "False", "SESSION_COOKIE_SECURE": "True", "CSRF_COOKIE_SECURE": "True",
        "SECURE_PROXY_SSL_HEADER": "None"}


def test_debug_serves_plain_http():
    values = https_settings(DEBUG="true")
    assert values["SECURE_SSL_REDIRECT"] == values["SESSION_COOKIE_SECURE"] == values["CSRF_COOKIE_SECURE"] == "False"
    assert values["SECURE_HSTS_SECONDS"] == "0"


def test_https_settings_are_read_from_the_environment():
    values = https_settings(DEBUG="false", SECURE_SSL_REDIRECT="off", SECURE_HSTS_SECONDS="3600",
                            SECURE_HSTS_PRELOAD="on", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    assert values["SECURE_SSL_REDIRECT"] == "False" and values["SECURE_HSTS_SECONDS"] == "3600"
    assert values["SECURE_HSTS_PRELOAD"] == "True"
    assert values["SECURE_PROXY_SSL_HEADER"] == "('HTTP_X_FORWARDED_PROTO', 'https')"


@pytest.mark.parametrize("name, value, message", [
    ("SECURE_SSL_REDIRECT", "sometimes", "SECURE_SSL_REDIRECT='sometimes' is not a boolean"),
    ("SECURE_HSTS_SECONDS", "a year", "SECURE_HSTS_SECONDS='a year' is not an integer"),
    ("SECURE_HSTS_SECONDS", "-1", "SECURE_HSTS_SECONDS=-1"),
    ("SESSION_COOKIE_SECURE", "y", "SESSION_COOKIE_SECURE='y' is not a boolean"),
    ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto: https", "SECURE_PROXY_SSL_HEADER='X-Forwarded-Proto: https'"),
    ("EMAIL_PORT", "smtp", "EMAIL_PORT='smtp' is not an integer"),
    ("PGGIT_METRICS_ALLOWED_NETWORKS", "10.0.0.0/8,intranet", "PGGIT_METRICS_ALLOWED_NETWORKS: 'intranet' is not a network"),
    ("PGGIT_METRICS_TIMEOUT_SECONDS", "0", "PGGIT_METRICS_TIMEOUT_SECONDS must be at least 1"),
])
def test_bad_values_stop_the_app_naming_the_variable(name, value, message):
    code, output = load_settings(DEBUG="false", SECRET_KEY="k" * 50, **{name: value})
    assert code != 0
    assert message in output


# --- manage.py check --deploy -------------------------------------------------------------------------

def check_deploy(**env) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items()
               if k not in SETTINGS_VARIABLES and not k.startswith("EMAIL_") and k != "DJANGO_SETTINGS_MODULE"}
    environ.update(DATABASE_URL="postgresql://postgres@127.0.0.1:5432/unused", DEBUG="false",
                   SECRET_KEY="pK3vQ8zR1mW5yT7uN2bX4cL6dF9gH0jS-aE_oI8rU3tY5wQ1zM7nB2vC4xK6lP9h",
                   ALLOWED_HOSTS="pggit.example.com", **env)
    return subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings():
    result = check_deploy(SECURE_HSTS_PRELOAD="true", EMAIL_HOST="smtp.example.com")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues (0 silenced)." in output


def test_check_deploy_with_only_debug_off_and_a_key_asks_just_about_preloading():
    """The defaults answer W004, W008, W012, W016 and W018; listing the site in browsers' HSTS
    preload lists is left for the operator to opt in to (SECURE_HSTS_PRELOAD)."""
    result = check_deploy()
    output = result.stdout + result.stderr
    assert re.findall(r"\((\w+\.\w+)\)", output) == ["security.W021"], output
