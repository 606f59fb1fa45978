from django.apps import AppConfig


class Config(AppConfig):
    default = True
    name = "search"
    label = "search"
