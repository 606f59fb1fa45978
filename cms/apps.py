from django.apps import AppConfig


class Config(AppConfig):
    default = True
    name = "cms"
    label = "cms"
