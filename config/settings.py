"""The one settings module. Everything that differs between machines comes from the environment.

Embedded defaults (no variables set): SQLite, eager Celery, local-memory cache, console e-mail,
database search. Each integration switches on when its variable is set.
"""

from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None


def _positive_int(name: str, default: int) -> int:
    value = env.int(name, default=default)
    if value <= 0:
        raise environ.ImproperlyConfigured(f"{name} must be a positive integer, got {value}")
    return value


PRODUCTION = env.bool("DJANGO_PRODUCTION", default=False)
DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)
_DEV_SECRET = "dev-only-insecure-secret-key-change-me-in-production-0123456789"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and (not SECRET_KEY or SECRET_KEY == _DEV_SECRET):
    raise environ.ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production")
# Key for the keyed hashes of resident ID numbers (HMAC-SHA256). Changing it breaks tie matching.
ID_HASH_KEY = env.str("ID_HASH_KEY", default="" if PRODUCTION else "dev-id-hash-key")
if PRODUCTION and not ID_HASH_KEY:
    raise environ.ImproperlyConfigured("ID_HASH_KEY must be set in production")
# Master key that wraps each project's sealed-quote key. Losing it loses unopened quotes.
QUOTE_MASTER_KEY = env.str("QUOTE_MASTER_KEY", default="" if PRODUCTION else "dev-quote-master-key")
if PRODUCTION and not QUOTE_MASTER_KEY:
    raise environ.ImproperlyConfigured("QUOTE_MASTER_KEY must be set in production")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["*"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# Addresses of the reverse proxies whose X-Real-IP header names the visitor (docs/deploy.md).
TRUSTED_PROXY_IPS = env.list("TRUSTED_PROXY_IPS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "marketplace.core",
    "marketplace.accounts",
    "marketplace.catalog",
    "marketplace.providers",
    "marketplace.procurement",
    "marketplace.oversight",
    "billing",
    "search",
    "cms",
    # The portal (cms): Wagtail and what it needs.
    "django.contrib.sitemaps",
    "wagtail.contrib.simple_translation",
    "wagtail.contrib.sitemaps",
    "wagtail.locales",
    "wagtail.embeds",
    "wagtail.sites",
    "wagtail.users",
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
]

MIDDLEWARE = [
    "marketplace.core.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "marketplace.core.middleware.RejectNulMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "marketplace.core.middleware.RequestIdMiddleware",
    "marketplace.accounts.middleware.ActiveMembershipMiddleware",
    "marketplace.accounts.middleware.StaffTwoFactorMiddleware",
    "cms.middleware.EditorAdminAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "marketplace.core.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketplace.accounts.context_processors.membership",
                # After Django's csrf processor: a page rendered for the public page cache
                # gets a placeholder in place of the CSRF token (marketplace/core/pagecache.py).
                "marketplace.core.pagecache.context_processor",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The monitoring rules' correlated subqueries have huge cost estimates; JIT-compiling them
    # costs 0.3-1.5 s per query and saves nothing (docs/monitoring-performance.md).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# Anonymous visitors of the home, announcements and directory pages are served from the cache
# for this long (0: never); the policy and why 30 s is in marketplace/core/pagecache.py.
PUBLIC_PAGE_CACHE_SECONDS = env.int("PUBLIC_PAGE_CACHE_SECONDS", default=30)
if PUBLIC_PAGE_CACHE_SECONDS < 0:
    raise environ.ImproperlyConfigured("PUBLIC_PAGE_CACHE_SECONDS must be 0 (off) or more")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:dashboard"
LOGOUT_REDIRECT_URL = "home"
# Failed logins allowed per username and per client address in the window, then refused.
LOGIN_THROTTLE_ATTEMPTS = _positive_int("LOGIN_THROTTLE_ATTEMPTS", 5)
LOGIN_THROTTLE_WINDOW_SECONDS = _positive_int("LOGIN_THROTTLE_WINDOW_SECONDS", 900)
OTP_TOTP_ISSUER = "枣庄市网上中介服务超市"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Uploads (certificates, proofs): size cap and allowed types, checked by content, not by name.
UPLOAD_MAX_BYTES = _positive_int("UPLOAD_MAX_BYTES", 5 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="noreply@zjcs.example.cn")

# Celery: eager unless a broker is configured.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default="CELERY_BROKER_URL" not in env)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_BEAT_SCHEDULE: dict = {
    # Moves projects on time: closes registration, runs due selections, ends publicity and
    # escalates overdue contracts, deliveries and acceptances. Idempotent; safe to run late.
    "procurement-tick": {"task": "marketplace.procurement.tasks.tick", "schedule": 60.0},
    # Nightly full scan of the monitoring rules (per-change scans run after each change).
    "oversight-nightly": {
        "task": "marketplace.oversight.tasks.monitor_full",
        "schedule": crontab(hour=2, minute=30),
    },
    # Nightly comparison of Stripe's PaymentIntents and refunds with the billing ledger.
    "billing-reconcile": {"task": "billing.tasks.reconcile", "schedule": crontab(hour=2, minute=0)},
    # Cases: escalates overdue answers and remedies, lifts ended blacklistings, recomputes credit.
    "oversight-cases-tick": {"task": "marketplace.oversight.cases.tasks.tick", "schedule": 600.0},
    # Applies pending changes to the search index (also triggered after each commit).
    "search-outbox-drain": {"task": "search.tasks.outbox_drain", "schedule": 60.0},
}

# Billing: Stripe is on when its secret key is set; without it owners record bank transfers.
# STRIPE_API_BASE points the client at another server (localstripe in development and tests).
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="")
STRIPE_JS_URL = env.str("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
# Card by default; add "alipay" and "wechat_pay" once the Stripe account has them enabled.
STRIPE_PAYMENT_METHOD_TYPES = env.list("STRIPE_PAYMENT_METHOD_TYPES", default=["card"])
# Prefix of idempotency keys and metadata tag of our PaymentIntents (one per deployment).
BILLING_NAMESPACE = env.str("BILLING_NAMESPACE", default="zjcs")

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "marketplace.core.api.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PARSER_CLASSES": [
        "marketplace.core.parsers.JSONParser",
        "marketplace.core.parsers.FormParser",
        "marketplace.core.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "marketplace.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"anon": "120/minute", "user": "600/minute"},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "网上中介服务超市 API",
    "DESCRIPTION": "Intermediary-service marketplace: catalogue, intermediaries, offers and fees.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Served from our own static files: no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Market rules held as settings (per-funding-source thresholds etc. come with procurement).
REGISTRATION_MIN_WORKING_DAYS = _positive_int("REGISTRATION_MIN_WORKING_DAYS", 5)
ONBOARDING_FORMAL_CHECK_WORKING_DAYS = _positive_int("ONBOARDING_FORMAL_CHECK_WORKING_DAYS", 2)
# Direct selection (直接选取) only below these ceilings (yuan), per funding source.
DIRECT_SELECTION_THRESHOLDS = {
    "fiscal": env.int("DIRECT_SELECTION_THRESHOLD_FISCAL", default=50_000),
    "private": env.int("DIRECT_SELECTION_THRESHOLD_PRIVATE", default=200_000),
}
RESULT_PUBLICITY_WORKING_DAYS = _positive_int("RESULT_PUBLICITY_WORKING_DAYS", 3)
CONTRACT_WORKING_DAYS = _positive_int("CONTRACT_WORKING_DAYS", 5)
ACCEPTANCE_WORKING_DAYS = _positive_int("ACCEPTANCE_WORKING_DAYS", 10)
# Credit preference: the long list of best-rated applicants and the short list drawn from it.
CREDIT_LONG_LIST = _positive_int("CREDIT_LONG_LIST", 7)
CREDIT_SHORT_LIST = _positive_int("CREDIT_SHORT_LIST", 3)
PROJECT_NUMBER_PREFIX = env.str("PROJECT_NUMBER_PREFIX", default="ZZZJ")
# Rescan a project or firm with the monitoring rules after each change (seed_demo turns it off
# and runs one full scan at the end instead).
MONITOR_ON_CHANGE = env.bool("MONITOR_ON_CHANGE", default=True)
# Risk bands of a project's score (the sum of its open and confirmed flags' weights).
RISK_MEDIUM_FROM = _positive_int("RISK_MEDIUM_FROM", 10)
RISK_HIGH_FROM = _positive_int("RISK_HIGH_FROM", 25)
# Open data (OCDS): ocid = this prefix (registered with OCP) + the project's public number.
OCDS_OCID_PREFIX = env.str("OCDS_OCID_PREFIX", default="ocds-zjcs00-")
OCDS_PUBLISHER_NAME = env.str("OCDS_PUBLISHER_NAME", default="枣庄市网上中介服务超市")
OCDS_PAGE_SIZE = _positive_int("OCDS_PAGE_SIZE", 100)
# Search: Elasticsearch when ELASTICSEARCH_URL is set, the database otherwise.
ELASTICSEARCH_URL = env.str("ELASTICSEARCH_URL", default="")
ELASTICSEARCH_INDEX_PREFIX = env.str("ELASTICSEARCH_INDEX_PREFIX", default="zjcs")

# The portal (Wagtail). Pages exist in both languages through Wagtail's own i18n; the language
# comes from the same cookie as the rest of the site (no URL prefix), see docs/portal.md.
WAGTAIL_SITE_NAME = "枣庄市网上中介服务超市"
WAGTAILADMIN_BASE_URL = env.str("WAGTAILADMIN_BASE_URL", default="http://127.0.0.1:8000")
WAGTAILADMIN_LOGIN_URL = "/accounts/login/"
WAGTAIL_FRONTEND_LOGIN_URL = "/accounts/login/"
WAGTAIL_I18N_ENABLED = True
WAGTAIL_CONTENT_LANGUAGES = LANGUAGES
WAGTAILADMIN_PERMITTED_LANGUAGES = LANGUAGES
WAGTAIL_ALLOW_UNICODE_SLUGS = False
WAGTAILDOCS_EXTENSIONS = ["pdf", "doc", "docx", "xls", "xlsx", "ofd", "wps", "txt", "zip"]
WAGTAILDOCS_SERVE_METHOD = "serve_view"
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAILUSERS_PASSWORD_ENABLED = False
WAGTAIL_GRAVATAR_PROVIDER_URL = None  # no requests to other origins from the admin
SPECTACULAR_SETTINGS["PREPROCESSING_HOOKS"] = ["cms.schema.without_editor_admin"]
CELERY_BEAT_SCHEDULE["cms-publish-scheduled"] = {"task": "cms.tasks.publish_scheduled", "schedule": 60.0}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Probes call /healthz on gunicorn directly, over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
