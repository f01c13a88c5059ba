from django.apps import AppConfig


class StatisticsConfig(AppConfig):
    name = "khutwa.statistics"
    label = "statistics"
    verbose_name = "Statistics"
