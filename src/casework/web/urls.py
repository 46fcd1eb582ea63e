from django.urls import path

from casework.web import views

app_name = "web"

urlpatterns = [
    path("", views.my_work, name="my_work"),
    path("login/", views.login, name="login"),
]
