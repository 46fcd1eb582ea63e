from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse

login = auth_views.LoginView.as_view()


def my_work(request: HttpRequest) -> HttpResponse:
    return HttpResponse("")
