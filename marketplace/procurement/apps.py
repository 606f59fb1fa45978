from django.apps import AppConfig


class Config(AppConfig):
    default = True
    name = "marketplace.procurement"
    label = "procurement"
