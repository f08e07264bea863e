"""One URL per screen of the registration, and the language switch."""

from django.urls import path

from django_portal import views

urlpatterns = [
    path("", views.home, name="home"),
    path("lang/<str:lang>", views.switch_language, name="lang"),
    path("register/method", views.method, name="method"),
    path("register/details", views.details, name="details"),
    path("register/mismatch", views.mismatch, name="mismatch"),
    path("register/exists", views.exists, name="exists"),
    path("register/otp", views.otp, name="otp"),
    path("register/password", views.password, name="password"),
    path("register/done", views.done, name="done"),
    path("register/ended", views.ended, name="ended"),
]
