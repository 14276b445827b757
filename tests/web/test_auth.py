"""Sign-in (django-allauth): the real login and signup forms, email verification, providers
switched on by the environment, the createadmin command and the first administrator."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.urls import reverse

from branches.access import grant, role_of
from branches.management.commands.runapp import ensure_first_admin
from branches.models import Repository, Role
from pggit_web.auth_settings import configure_auth
from pggit_web.dbconfig import database_url
from tests.web.conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"
SIGNUP = "/accounts/signup/"

pytestmark = pytest.mark.django_db


def signed_in_user_id(client):
    value = client.session.get("_auth_user_id")
    return int(value) if value is not None else None


def sign_in(client, login, password=PASSWORD):
    return client.post(LOGIN, {"login": login, "password": password})


def sign_up(client, username="nina_new", email="nina@example.com", password="a long new passphrase 42"):
    return client.post(SIGNUP, {"username": username, "email": email, "password1": password, "password2": password})


# --- signing in ---------------------------------------------------------------------------------

def test_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next=/"


def test_login_page_shows_the_allauth_form_in_the_site_layout(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="login"' in page and 'name="password"' in page
    assert 'css/auth.css' in page and 'class="site-header"' in page
    assert SIGNUP in page and "/accounts/password/reset/" in page
    assert 'id="providers"' not in page  # no identity provider configured


def test_sign_in_with_username(client, author):
    response = sign_in(client, "ada_author")
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_user_id(client) == author.pk
    assert client.get("/").status_code == 200


def test_sign_in_with_email_address(client, author):
    response = sign_in(client, "ADA_AUTHOR@example.com")
    assert response.status_code == 302
    assert signed_in_user_id(client) == author.pk


def test_sign_in_goes_back_to_the_page_asked_for(client, author):
    response = client.post(LOGIN, {"login": "ada_author", "password": PASSWORD, "next": "/repos/new/"})
    assert response["Location"] == "/repos/new/"


def test_wrong_password_is_refused(client, author):
    response = sign_in(client, "ada_author", "not the password")
    assert response.status_code == 200
    assert signed_in_user_id(client) is None
    assert response.context["form"].errors
    assert 'class="alert"' in response.content.decode()
    assert client.get("/").status_code == 302


def test_inactive_user_cannot_sign_in(client, author):
    author.is_active = False
    author.save()
    sign_in(client, "ada_author")
    assert signed_in_user_id(client) is None


def test_sign_out_needs_a_post_and_ends_the_session(client, author):
    client.force_login(author)
    assert client.get("/accounts/logout/").status_code == 200  # the confirmation page
    assert signed_in_user_id(client) == author.pk
    client.post("/accounts/logout/")
    assert signed_in_user_id(client) is None


# --- signing up ---------------------------------------------------------------------------------

@pytest.mark.django_db(transaction=True)
def test_signup_makes_an_account_with_no_repository_role(client, repo):
    response = sign_up(client)
    assert response.status_code == 302, response.content.decode()[:2000]
    user = get_user_model().objects.get(username="nina_new")
    assert user.email == "nina@example.com" and not user.is_staff and not user.is_superuser
    assert signed_in_user_id(client) == user.pk
    assert role_of(user, repo) is None
    assert client.get(f"/repos/{repo.slug}/").status_code == 404
    assert repo.name not in client.get("/").content.decode()
    grant(repo, user, Role.VIEWER)  # granting the role is what opens it
    assert client.get(f"/repos/{repo.slug}/").status_code == 200


def test_signup_refuses_mismatched_passwords(client):
    response = client.post(SIGNUP, {"username": "nina_new", "email": "nina@example.com",
                                    "password1": "a long new passphrase 42", "password2": "something else 42"})
    assert response.status_code == 200
    assert not get_user_model().objects.filter(username="nina_new").exists()


def test_signup_can_be_closed(client):
    assert "Create an account" in client.get("/accounts/login/").content.decode()
    with override_settings(ACCOUNT_ALLOW_SIGNUP=False):
        response = client.get(SIGNUP)
        assert "Sign-up is closed" in response.content.decode()
        assert "Create an account" not in client.get("/accounts/login/").content.decode()
        sign_up(client)
    assert not get_user_model().objects.filter(username="nina_new").exists()


# --- email verification -------------------------------------------------------------------------

@override_settings(ACCOUNT_EMAIL_VERIFICATION="mandatory")
def test_mandatory_verification_blocks_sign_in_until_the_link_is_followed(client):
    response = sign_up(client)
    assert response.status_code == 302 and response["Location"] == "/accounts/confirm-email/"
    assert signed_in_user_id(client) is None
    assert "Verify your email address" in client.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["nina@example.com"]

    response = sign_in(client, "nina_new", "a long new passphrase 42")
    assert signed_in_user_id(client) is None  # known password, unverified address: not yet
    assert response["Location"] == "/accounts/confirm-email/"

    key = re.search(r"/accounts/confirm-email/([^/\s]+)/", mail.outbox[0].body).group(1)
    confirm = f"/accounts/confirm-email/{key}/"
    assert "Confirm your email address" in client.get(confirm).content.decode()
    client.post(confirm)
    assert EmailAddress.objects.get(email="nina@example.com").verified

    sign_in(client, "nina_new", "a long new passphrase 42")
    assert signed_in_user_id(client) == get_user_model().objects.get(username="nina_new").pk


@override_settings(ACCOUNT_EMAIL_VERIFICATION="none")
def test_no_verification_signs_in_right_after_signup(client):
    sign_up(client)
    assert signed_in_user_id(client) is not None
    assert mail.outbox == [] or all("confirm" not in m.subject.lower() for m in mail.outbox)


def test_password_reset_sends_a_link(client, author):
    response = client.post("/accounts/password/reset/", {"email": "ada_author@example.com"})
    assert response.status_code == 302
    assert "Check your email" in client.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1 and "/accounts/password/reset/key/" in mail.outbox[0].body


# --- settings from the environment ------------------------------------------------------------

def test_no_provider_without_environment():
    settings = configure_auth({})
    assert settings["EXTRA_APPS"] == [] and settings["SOCIALACCOUNT_PROVIDERS"] == {}
    assert settings["ACCOUNT_EMAIL_VERIFICATION"] == "none" and settings["ACCOUNT_ALLOW_SIGNUP"] is True
    assert settings["ACCOUNT_LOGIN_METHODS"] == {"username", "email"}


def test_oidc_is_switched_on_by_environment_alone():
    settings = configure_auth({"OIDC_SERVER_URL": "https://id.example.com/realms/acme", "OIDC_CLIENT_ID": "pggit",
                               "OIDC_CLIENT_SECRET": "s3cret", "OIDC_PROVIDER_ID": "acme",
                               "OIDC_PROVIDER_NAME": "Acme SSO"})
    assert settings["EXTRA_APPS"] == ["allauth.socialaccount.providers.openid_connect"]
    assert settings["SOCIALACCOUNT_PROVIDERS"]["openid_connect"]["APPS"] == [{
        "provider_id": "acme", "name": "Acme SSO", "client_id": "pggit", "secret": "s3cret",
        "settings": {"server_url": "https://id.example.com/realms/acme"},
    }]


def test_saml_is_switched_on_by_environment_alone():
    settings = configure_auth({"SAML_IDP_METADATA_URL": "https://idp.example.com/metadata",
                               "SAML_IDP_ENTITY_ID": "urn:idp.example.com", "SAML_ORGANIZATION": "acme",
                               "SAML_PROVIDER_NAME": "Acme SAML"})
    assert settings["EXTRA_APPS"] == ["allauth.socialaccount.providers.saml"]
    (app,) = settings["SOCIALACCOUNT_PROVIDERS"]["saml"]["APPS"]
    assert (app["name"], app["provider_id"], app["client_id"]) == ("Acme SAML", "urn:idp.example.com", "acme")
    assert app["settings"]["idp"] == {"entity_id": "urn:idp.example.com",
                                      "metadata_url": "https://idp.example.com/metadata"}
    assert "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress" in \
        app["settings"]["attribute_mapping"]["email"]


@pytest.mark.parametrize("environ, message", [
    ({"OIDC_SERVER_URL": "https://id.example.com"}, "OIDC_CLIENT_ID is not"),
    ({"SAML_IDP_METADATA_URL": "https://idp.example.com/m"}, "SAML_IDP_ENTITY_ID is not"),
    ({"OIDC_SERVER_URL": "https://i", "OIDC_CLIENT_ID": "c", "OIDC_PROVIDER_ID": "a/b"}, "OIDC_PROVIDER_ID='a/b'"),
    ({"SAML_IDP_METADATA_URL": "https://m", "SAML_IDP_ENTITY_ID": "e", "SAML_ORGANIZATION": "x y"},
     "SAML_ORGANIZATION='x y'"),
    ({"ACCOUNT_EMAIL_VERIFICATION": "sometimes"}, "use one of none, optional, mandatory"),
    ({"ACCOUNT_ALLOW_SIGNUP": "perhaps"}, "not a boolean"),
])
def test_incomplete_or_bad_auth_environment_fails_loudly(environ, message):
    with pytest.raises(ImproperlyConfigured, match=re.escape(message)):
        configure_auth(environ)


def test_email_verification_setting_is_read_from_environment():
    assert configure_auth({"ACCOUNT_EMAIL_VERIFICATION": "mandatory"})["ACCOUNT_EMAIL_VERIFICATION"] == "mandatory"
    assert configure_auth({"ACCOUNT_ALLOW_SIGNUP": "0"})["ACCOUNT_ALLOW_SIGNUP"] is False


def test_configured_providers_appear_on_the_login_page(server):
    """The whole path in a fresh interpreter: environment -> settings -> INSTALLED_APPS, provider URLs
    and the login page's buttons. (allauth builds its provider registry and URLs once per process, so
    override_settings cannot switch a provider on inside this one.)"""
    code = """
import django, os
os.environ["DJANGO_SETTINGS_MODULE"] = "pggit_web.settings"
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
from django.urls import reverse
setup_test_environment()
assert "allauth.socialaccount.providers.openid_connect" in settings.INSTALLED_APPS
assert "allauth.socialaccount.providers.saml" in settings.INSTALLED_APPS
print("OIDC", reverse("openid_connect_login", kwargs={"provider_id": "acme"}))
print("SAML", reverse("saml_login", kwargs={"organization_slug": "acme-org"}))
response = Client().get("/accounts/login/")
print("STATUS", response.status_code)
print("CSP", response["Content-Security-Policy"])
print(response.content.decode())
"""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("OIDC_", "SAML_", "ACCOUNT_"))}
    environ.update(
        DATABASE_URL=database_url(server),  # the test database: allauth also looks for SocialApp rows
        OIDC_SERVER_URL="https://id.example.com/realms/acme", OIDC_CLIENT_ID="pggit", OIDC_PROVIDER_ID="acme",
        OIDC_PROVIDER_NAME="Acme SSO",
        SAML_IDP_METADATA_URL="https://idp.example.com/metadata", SAML_IDP_ENTITY_ID="urn:idp.example.com",
        SAML_ORGANIZATION="acme-org", SAML_PROVIDER_NAME="Acme SAML",
        SECURE_SSL_REDIRECT="false",  # the test client speaks plain HTTP
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "OIDC /accounts/oidc/acme/login/" in out
    assert "SAML /accounts/saml/acme-org/login/" in out
    assert "STATUS 200" in out
    # The sign-in buttons' POSTs are redirected to the providers: the policy lets forms go there.
    assert "form-action 'self' https://id.example.com https://idp.example.com;" in out
    assert 'action="/accounts/oidc/acme/login/?process=login"' in out and "Sign in with Acme SSO" in out
    assert 'action="/accounts/saml/acme-org/login/?process=login"' in out and "Sign in with Acme SAML" in out


# --- the first administrator ------------------------------------------------------------------

def test_createadmin_makes_a_superuser_who_can_sign_in(client):
    call_command("createadmin", username="root", email="root@example.com", password="an admin passphrase 7")
    user = get_user_model().objects.get(username="root")
    assert user.is_superuser and user.is_staff and user.is_active
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == ("root@example.com", True, True)
    sign_in(client, "root@example.com", "an admin passphrase 7")
    assert signed_in_user_id(client) == user.pk
    assert client.get(reverse("admin:index")).status_code == 200


@override_settings(ACCOUNT_EMAIL_VERIFICATION="mandatory")
def test_createadmin_admin_is_not_held_up_by_mandatory_verification(client):
    call_command("createadmin", username="root", email="root@example.com", password="an admin passphrase 7")
    sign_in(client, "root", "an admin passphrase 7")
    assert signed_in_user_id(client) == get_user_model().objects.get(username="root").pk
    assert mail.outbox == []


def test_createadmin_refuses_an_existing_username_unless_update(client, author):
    with pytest.raises(CommandError, match="exists already; pass --update"):
        call_command("createadmin", username="ada_author", email="ada@example.org", password="an admin passphrase 7")
    author.refresh_from_db()
    assert not author.is_superuser
    call_command("createadmin", "--update", username="ada_author", email="ada@example.org",
                 password="an admin passphrase 7")
    author.refresh_from_db()
    assert author.is_superuser and author.email == "ada@example.org"
    assert EmailAddress.objects.get(user=author, primary=True).email == "ada@example.org"
    call_command("createadmin", "--update", username="ada_author", email="ada@example.org",
                 password="an admin passphrase 7")  # idempotent
    assert EmailAddress.objects.filter(user=author).count() == 1
    sign_in(client, "ada_author", "an admin passphrase 7")
    assert signed_in_user_id(client) == author.pk


def test_createadmin_reads_the_password_from_the_environment(client, monkeypatch):
    monkeypatch.setenv("PGGIT_ADMIN_PASSWORD", "from the environment 9")
    call_command("createadmin", "--no-input", username="root", email="root@example.com")
    sign_in(client, "root", "from the environment 9")
    assert signed_in_user_id(client) is not None


def test_createadmin_errors_are_clear(monkeypatch, author):
    monkeypatch.delenv("PGGIT_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="no password: pass --password or set PGGIT_ADMIN_PASSWORD"):
        call_command("createadmin", "--no-input", username="root", email="root@example.com")
    with pytest.raises(CommandError, match="not an email address"):
        call_command("createadmin", username="root", email="nope", password="an admin passphrase 7")
    with pytest.raises(CommandError, match="password refused"):
        call_command("createadmin", username="root", email="root@example.com", password="123")
    with pytest.raises(CommandError, match="belongs to another user .'ada_author'."):
        call_command("createadmin", username="root", email="ada_author@example.com", password="an admin passphrase 7")
    assert not get_user_model().objects.filter(username="root").exists()


def test_first_start_creates_one_admin_who_maintains_the_demo(client):
    demo = Repository.objects.create(name="demo", dsn="postgresql://postgres@127.0.0.1/pggit_demo")
    user, password = ensure_first_admin(demo)
    assert user.username == "admin" and user.is_superuser
    assert demo.role_groups.get(role=Role.MAINTAINER).group.user_set.filter(pk=user.pk).exists()
    sign_in(client, "admin", password)
    assert signed_in_user_id(client) == user.pk
    assert ensure_first_admin(demo) is None  # there is a superuser now: nothing more


def test_first_start_leaves_an_existing_account_named_admin_alone(django_user_model):
    someone = django_user_model.objects.create_user("admin", "someone@example.com", "their own password 1")
    user, _ = ensure_first_admin(None)
    assert user.username.startswith("admin-") and user.is_superuser
    someone.refresh_from_db()
    assert not someone.is_superuser and someone.check_password("their own password 1")


def test_runapp_prints_the_first_admin_password_once(monkeypatch):
    from io import StringIO

    monkeypatch.setattr("branches.management.commands.runapp.call_command", lambda *a, **k: None)
    out = StringIO()
    call_command("runapp", "--no-demo", "--no-serve", stdout=out)
    match = re.search(r"Created administrator 'admin' with password (\S+)", out.getvalue())
    assert match
    assert get_user_model().objects.get(username="admin").check_password(match.group(1))
    again = StringIO()
    call_command("runapp", "--no-demo", "--no-serve", stdout=again)
    assert "Created administrator" not in again.getvalue()


SMTP = "django.core.mail.backends.smtp.EmailBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"


def test_mailer_is_read_from_environment():
    mailer = configure_auth({"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "587", "EMAIL_HOST_USER": "pggit",
                             "EMAIL_HOST_PASSWORD": "pw", "EMAIL_USE_TLS": "1"})["MAILERS"]["default"]
    assert mailer == {"BACKEND": SMTP, "OPTIONS": {"host": "smtp.example.com", "port": 587, "username": "pggit",
                                                   "password": "pw", "use_tls": True, "timeout": 10}}
    assert configure_auth({"EMAIL_HOST": "mx", "EMAIL_TIMEOUT": "3"})["MAILERS"]["default"]["OPTIONS"]["timeout"] == 3
    console = configure_auth({"EMAIL_BACKEND": CONSOLE})
    assert console["MAILERS"]["default"] == {"BACKEND": CONSOLE}
    with pytest.raises(ImproperlyConfigured, match="exclusive"):
        configure_auth({"EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"})
    with pytest.raises(ImproperlyConfigured, match="EMAIL_TIMEOUT"):
        configure_auth({"EMAIL_TIMEOUT": "0"})


def test_without_mail_settings_debug_prints_mail_and_production_uses_a_local_mail_server():
    assert configure_auth({}, debug=True)["MAILERS"] == {"default": {"BACKEND": CONSOLE}}
    # Django's old EMAIL_HOST default; the SMTP backend refuses to start without a host (InvalidMailer).
    assert configure_auth({}, debug=False)["MAILERS"] == {
        "default": {"BACKEND": SMTP, "OPTIONS": {"host": "localhost", "timeout": 10}}}
    # Any mail setting means a real server, with DEBUG too.
    assert configure_auth({"EMAIL_HOST": "mx.example.com"}, debug=True)["MAILERS"]["default"]["BACKEND"] == SMTP


def test_settings_without_mail_configuration_give_the_console_only_with_debug(tmp_path):
    code = ("import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'pggit_web.settings'; django.setup();"
            "from django.conf import settings; print(settings.MAILERS['default'])")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DEBUG", "SECRET_KEY"))}
    environ.update(DATABASE_URL="postgresql://postgres@127.0.0.1:5432/unused", PGGIT_DATA_DIR=str(tmp_path))
    results = {}
    for debug in ("true", "false"):
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**environ, "DEBUG": debug},
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        results[debug] = result.stdout
    assert CONSOLE in results["true"]
    assert SMTP in results["false"] and "'host': 'localhost'" in results["false"]


# --- password reset when mail cannot go out ---------------------------------------------------

RESET = "/accounts/password/reset/"


def closed_port() -> int:
    """A local TCP port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_password_reset_with_the_development_mailer_prints_the_link(client, author, settings, capsys):
    settings.MAILERS = {"default": {"BACKEND": CONSOLE}}
    response = client.post(RESET, {"email": "ada_author@example.com"})
    assert response.status_code == 302
    printed = capsys.readouterr().out
    assert "To: ada_author@example.com" in printed and "/accounts/password/reset/key/" in printed


@pytest.mark.parametrize("mailer, message", [
    # What a missing EMAIL_HOST gave before: InvalidMailer "OPTIONS must define 'host'", a 500.
    ({"BACKEND": SMTP}, "This site is not set up to send email"),
    ({}, "This site is not set up to send email"),  # no default mailer at all
    # A mail server that is down: connection refused.
    ({"BACKEND": SMTP, "OPTIONS": {"host": "127.0.0.1", "port": closed_port(), "timeout": 5}},
     "could not be sent"),
])
def test_password_reset_says_so_when_mail_cannot_be_sent(client, author, settings, mailer, message):
    settings.MAILERS = {"default": mailer} if mailer else {}
    response = client.post(RESET, {"email": "ada_author@example.com"})
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page and "an administrator to reset your password" in page
    assert 'name="email"' in page  # the form again, to try later
    assert mail.outbox == []


def test_password_reset_for_an_unknown_address_answers_the_same_when_mail_fails(client, settings):
    settings.MAILERS = {"default": {"BACKEND": SMTP}}
    response = client.post(RESET, {"email": "nobody@example.com"})
    assert response.status_code == 200
    assert "This site is not set up to send email" in response.content.decode()

@pytest.mark.parametrize("mailer", [{"BACKEND": SMTP}, {}])
def test_signup_with_verification_says_so_when_the_confirmation_cannot_be_sent(client, settings, mailer):
    """Before: sign-up with verification and no usable mailer was a 500 (the account was made)."""
    settings.ACCOUNT_EMAIL_VERIFICATION = "mandatory"
    settings.MAILERS = {"default": mailer} if mailer else {}
    # (an address of its own: allauth sends one confirmation per address every few minutes)
    who = f"nomail{len(mailer)}"
    response = sign_up(client, username=who, email=f"{who}@example.com")
    assert response.status_code == 302
    assert mail.outbox == []
    page = client.get(response["Location"]).content.decode()
    assert "could not be sent" in page
    address = EmailAddress.objects.get(email=f"{who}@example.com")
    assert not address.verified and signed_in_user_id(client) is None
