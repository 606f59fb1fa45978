from django.apps import AppConfig


class Config(AppConfig):
    default = True
    name = "billing"
    label = "billing"
